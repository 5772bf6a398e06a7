package dev.sidecars.logforwarder.ship;

import java.time.Duration;

/** Waiting, injectable so back-off can be tested without waiting. */
@FunctionalInterface
public interface Sleeper {
  Sleeper SYSTEM = duration -> Thread.sleep(duration.toMillis());

  void sleep(Duration duration) throws InterruptedException;
}
