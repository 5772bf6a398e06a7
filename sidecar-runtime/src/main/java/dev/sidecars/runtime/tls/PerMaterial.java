package dev.sidecars.runtime.tls;

import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A value built from the current TLS material (a context, or a cache of contexts), built again only when
 * the material changes: the swap both the server and the client side need when certificates rotate.
 */
final class PerMaterial<T> {
  private final Supplier<TlsMaterial> material;
  private final Function<TlsMaterial, T> build;
  private volatile Built<T> built;

  private record Built<T>(TlsMaterial material, T value) {}

  /** @param material the current material; may answer null (no TLS files), which is a material too */
  PerMaterial(Supplier<TlsMaterial> material, Function<TlsMaterial, T> build) {
    this.material = material;
    this.build = build;
  }

  /** The value for the current material; the lock is taken only when the material has changed. */
  T get() {
    Built<T> last = built;
    if (last != null && last.material() == material.get()) {
      return last.value();
    }
    synchronized (this) {
      // Read again under the lock: an event loop that read the material just before a rotation must not
      // put the old value back after another loop has moved on to the new one.
      TlsMaterial now = material.get();
      last = built;
      if (last == null || last.material() != now) {
        last = new Built<>(now, build.apply(now));
        built = last;
      }
      return last.value();
    }
  }
}
