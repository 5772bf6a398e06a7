package dev.sidecars.collector.faults;

import dev.sidecars.collector.Signal;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The faults still to be answered, in the order they were scripted; shared by HTTP and gRPC. */
public final class FaultPlan {
  /** A scripted fault and how many more requests it will answer. */
  public record Pending(long id, Fault fault, int remaining) {}

  private final List<Pending> pending = new ArrayList<>();
  private long nextId = 1;

  public synchronized Pending add(Fault fault) {
    Pending p = new Pending(nextId++, fault, fault.times());
    pending.add(p);
    return p;
  }

  /** Uses up one answer of the first fault for {@code signal}, if any. */
  public synchronized Optional<Fault> take(Signal signal) {
    for (int i = 0; i < pending.size(); i++) {
      Pending p = pending.get(i);
      if (p.fault().appliesTo(signal)) {
        if (p.remaining() == 1) {
          pending.remove(i);
        } else {
          pending.set(i, new Pending(p.id(), p.fault(), p.remaining() - 1));
        }
        return Optional.of(p.fault());
      }
    }
    return Optional.empty();
  }

  public synchronized List<Pending> list() {
    return List.copyOf(pending);
  }

  /** Removes every pending fault and says how many there were. */
  public synchronized int clear() {
    int n = pending.size();
    pending.clear();
    return n;
  }

}
