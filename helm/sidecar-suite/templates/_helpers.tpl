{{/* Names and labels. */}}
{{- define "suite.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "suite.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "suite.selectorLabels" -}}
app.kubernetes.io/name: {{ include "suite.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The app's pods; Jaeger and the collector carry other components, so Services never mix them up. */}}
{{- define "suite.appSelectorLabels" -}}
{{ include "suite.selectorLabels" . }}
app.kubernetes.io/component: app
{{- end }}

{{- define "suite.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "suite.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* An image reference from {repository, tag}; the tag defaults to the appVersion. Args: (list $ image). */}}
{{- define "suite.image" -}}
{{- $root := index . 0 }}
{{- $image := index . 1 }}
{{- $repo := $image.repository }}
{{- if and $root.Values.imageRegistry (not (contains "/" $repo)) }}
{{- $repo = printf "%s/%s" (trimSuffix "/" $root.Values.imageRegistry) $repo }}
{{- end }}
{{- printf "%s:%s" $repo (default $root.Chart.AppVersion $image.tag) }}
{{- end }}

{{- define "suite.serviceName" -}}
{{- default .Values.app.name .Values.serviceName }}
{{- end }}

{{/* Where the sidecars send OTLP; "" when nothing is configured (the sidecars' default applies). */}}
{{- define "suite.otlpEndpoint" -}}
{{- if .Values.otlpEndpoint }}
{{- .Values.otlpEndpoint }}
{{- else if .Values.otelCollector.enabled }}
{{- printf "http://%s-otel-collector:4318" (include "suite.fullname" .) }}
{{- else if .Values.jaeger.enabled }}
{{- printf "http://%s-jaeger-collector:4318" (include "suite.fullname" .) }}
{{- end }}
{{- end }}

{{/* Whole seconds of a duration the schema allows (500ms, 20s, 2m, 1h, or a bare number of seconds). */}}
{{- define "suite.seconds" -}}
{{- $v := toString . }}
{{- if hasSuffix "ms" $v }}{{ ceil (divf (float64 (trimSuffix "ms" $v)) 1000) | int }}
{{- else if hasSuffix "s" $v }}{{ ceil (float64 (trimSuffix "s" $v)) | int }}
{{- else if hasSuffix "m" $v }}{{ ceil (mulf (float64 (trimSuffix "m" $v)) 60) | int }}
{{- else if hasSuffix "h" $v }}{{ ceil (mulf (float64 (trimSuffix "h" $v)) 3600) | int }}
{{- else }}{{ ceil (float64 $v) | int }}
{{- end }}
{{- end }}

{{- define "suite.terminationGracePeriodSeconds" -}}
{{- if ne (toString .Values.terminationGracePeriodSeconds) "" }}
{{- .Values.terminationGracePeriodSeconds }}
{{- else }}
{{- $drain := 0 }}
{{- if .Values.metricsProxy.enabled }}{{ $drain = include "suite.seconds" .Values.metricsProxy.drainDelay | int }}{{ end }}
{{- add (int .Values.preStopSleepSeconds) $drain (include "suite.seconds" .Values.shutdownGrace | int) 10 }}
{{- end }}
{{- end }}

{{/* Environment every sidecar gets. Args: (list $ containerName). */}}
{{- define "suite.commonEnv" -}}
{{- $root := index . 0 }}
{{- $container := index . 1 -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: OTEL_SERVICE_NAME
  value: {{ include "suite.serviceName" $root | quote }}
{{- $attrs := list "k8s.pod.name=$(POD_NAME)" "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.node.name=$(NODE_NAME)" (printf "k8s.container.name=%s" $container) }}
{{- range $k, $v := $root.Values.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%v" $k $v) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- with include "suite.otlpEndpoint" $root }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $root.Values.otlpProtocol | quote }}
{{- with $root.Values.otlpHeaders }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  value: {{ . | quote }}
{{- end }}
- name: OTEL_PROPAGATORS
  value: {{ $root.Values.propagators | quote }}
- name: LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: SHUTDOWN_GRACE
  value: {{ $root.Values.shutdownGrace | quote }}
{{- end }}

{{/*
The parts every sidecar container shares: image, security context, probes on its admin port, preStop, /tmp.
Args: (list $ name valuesOfTheSidecar adminPortName).
*/}}
{{- define "suite.sidecarCommon" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $s := index . 2 }}
{{- $admin := index . 3 -}}
image: {{ include "suite.image" (list $root $s.image) | quote }}
imagePullPolicy: {{ $s.image.pullPolicy }}
{{- if eq $root.Values.sidecarMode "native" }}
restartPolicy: Always
{{- end }}
securityContext:
  {{- toYaml $root.Values.containerSecurityContext | nindent 2 }}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ $admin }}
  {{- toYaml $root.Values.sidecarProbes.startup | nindent 2 }}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ $admin }}
  {{- toYaml $root.Values.sidecarProbes.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ $admin }}
  {{- toYaml $root.Values.sidecarProbes.readiness | nindent 2 }}
{{- if gt (int $root.Values.preStopSleepSeconds) 0 }}
lifecycle:
  preStop:
    exec:
      command: ["sleep", {{ $root.Values.preStopSleepSeconds | toString | quote }}]
{{- end }}
resources:
  {{- toYaml $s.resources | nindent 2 }}
{{- end }}

{{/* TLS_MODE of metrics-proxy and UPSTREAM_TLS of trace-injector; a bare YAML off (false) is "off". */}}
{{- define "suite.mpTlsMode" -}}
{{- $m := .Values.metricsProxy.tls.mode }}
{{- if kindIs "bool" $m }}off{{ else }}{{ $m }}{{ end }}
{{- end }}

{{- define "suite.tiUpstreamTls" -}}
{{- $m := .Values.traceInjector.upstreamTls }}
{{- if kindIs "bool" $m }}off{{ else }}{{ $m }}{{ end }}
{{- end }}

{{/* The Secret holding the sidecars' TLS files; "" when none is configured. */}}
{{- define "suite.tlsSecretName" -}}
{{- if .Values.tls.secretName }}
{{- .Values.tls.secretName }}
{{- else if .Values.tls.certManager.enabled }}
{{- printf "%s-tls" (include "suite.fullname" .) }}
{{- end }}
{{- end }}

{{/* "true" when some enabled sidecar speaks TLS and so mounts the TLS files; fails when they are missing. */}}
{{- define "suite.tlsUsed" -}}
{{- $mp := and .Values.metricsProxy.enabled (ne (include "suite.mpTlsMode" .) "off") }}
{{- $ti := and .Values.traceInjector.enabled (ne (include "suite.tiUpstreamTls" .) "off") }}
{{- if or $mp $ti }}
{{- if not (include "suite.tlsSecretName" .) }}
{{- fail (printf "%s needs TLS files: set tls.secretName (a Secret with tls.crt, tls.key and ca.crt) or tls.certManager.enabled" (ternary (printf "metricsProxy.tls.mode=%s" (include "suite.mpTlsMode" .)) (printf "traceInjector.upstreamTls=%s" (include "suite.tiUpstreamTls" .)) $mp)) }}
{{- end }}
{{- true }}
{{- end }}
{{- end }}

{{/* The TLS variables and mount of a sidecar. Args: (list $ "env"|"mount"). */}}
{{- define "suite.tlsFiles" -}}
{{- $root := index . 0 }}
{{- $dir := trimSuffix "/" $root.Values.tls.mountPath }}
{{- if eq (index . 1) "env" -}}
- name: TLS_CERT_FILE
  value: {{ printf "%s/tls.crt" $dir | quote }}
- name: TLS_KEY_FILE
  value: {{ printf "%s/tls.key" $dir | quote }}
- name: TLS_CA_FILE
  value: {{ printf "%s/ca.crt" $dir | quote }}
{{- else -}}
- name: sidecar-tls
  mountPath: {{ $dir }}
  readOnly: true
{{- end }}
{{- end }}
