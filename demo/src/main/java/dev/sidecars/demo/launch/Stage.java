package dev.sidecars.demo.launch;

/**
 * What a process is in the demo, which fixes when it stops: the load first, then the services (together),
 * then their sidecars (so these see every last request and log line), and the collector last of all (so it
 * receives the sidecars' final flush). Declared in stop order.
 */
public enum Stage {
  LOAD,
  APP,
  PROXY,
  FORWARDER,
  COLLECTOR
}
