package dev.sidecars.demo.launch;

/**
 * What a process is in the demo, which fixes when it stops: callers before the services they call, the
 * services before their sidecars (so the sidecars see every last request and log line), and the collector
 * last of all (so it receives the sidecars' final flush). Declared in stop order.
 */
public enum Stage {
  LOAD,
  APP,
  PROXY,
  FORWARDER,
  COLLECTOR
}
