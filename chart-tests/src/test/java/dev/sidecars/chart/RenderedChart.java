package dev.sidecars.chart;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The manifests of one {@code helm template} run, each parsed into its fabric8 model class. Parsing is strict:
 * a field the Kubernetes API does not know (a misspelt or misplaced key in a template) fails it, through
 * {@link StrictModel}.
 */
final class RenderedChart {
  private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");
  private static final Map<String, Class<? extends HasMetadata>> KINDS =
      Map.of("Deployment", Deployment.class, "Service", Service.class, "ConfigMap", ConfigMap.class);

  private final String text;
  private final List<HasMetadata> resources;

  private RenderedChart(String text, List<HasMetadata> resources) {
    this.text = text;
    this.resources = List.copyOf(resources);
  }

  static RenderedChart parse(String text) {
    YAMLMapper yaml = YAMLMapper.builder().build();
    JsonMapper json = JsonMapper.builder().build();
    List<HasMetadata> resources = new ArrayList<>();
    for (String document : DOCUMENT_SEPARATOR.split(text)) {
      if (document.lines().allMatch(line -> line.isBlank() || line.stripLeading().startsWith("#"))) {
        continue;
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> tree = yaml.readValue(document, Map.class);
      if (tree == null || tree.isEmpty()) {
        continue;
      }
      String kind = String.valueOf(tree.get("kind"));
      // Custom resources (the ServiceMonitor) have no model class here: kept generic.
      Class<? extends HasMetadata> type = KINDS.getOrDefault(kind, GenericKubernetesResource.class);
      HasMetadata resource = json.convertValue(tree, type);
      if (type != GenericKubernetesResource.class) {
        StrictModel.requireNoUnknownFields(resource, kind + "/" + resource.getMetadata().getName());
      }
      resources.add(resource);
    }
    return new RenderedChart(text, resources);
  }

  String text() {
    return text;
  }

  List<HasMetadata> resources() {
    return resources;
  }

  <T extends HasMetadata> Optional<T> find(Class<T> type, String name) {
    return resources.stream()
        .filter(type::isInstance)
        .map(type::cast)
        .filter(r -> r.getMetadata().getName().equals(name))
        .findFirst();
  }

  <T extends HasMetadata> T get(Class<T> type, String name) {
    return find(type, name)
        .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " " + name + " in:\n" + text));
  }

  List<GenericKubernetesResource> ofKind(String kind) {
    return resources.stream()
        .filter(r -> kind.equals(r.getKind()))
        .map(GenericKubernetesResource.class::cast)
        .toList();
  }
}
