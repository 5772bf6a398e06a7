package dev.sidecars.logforwarder.tail;

import dev.sidecars.logforwarder.LogForwarderConfig;
import dev.sidecars.logforwarder.checkpoint.CheckpointStore;
import dev.sidecars.logforwarder.checkpoint.FileIdentity;
import dev.sidecars.logforwarder.parse.FileAttributes;
import java.nio.file.Path;
import java.util.AbstractCollection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The files being followed, in reading order and by file key; owned by the reading thread. The keys are
 * also published for the discovery thread, which does not open a followed file again.
 */
final class FollowedFiles extends AbstractCollection<TailedFile> {
  private final LogForwarderConfig config;
  private final CheckpointStore checkpoints;
  private final Map<Object, TailedFile> byKey = new HashMap<>();
  private final List<TailedFile> files = new ArrayList<>();
  private final Set<Object> keys = ConcurrentHashMap.newKeySet();
  private final Map<Object, TailedFile> copyOwners = new HashMap<>();

  FollowedFiles(LogForwarderConfig config, CheckpointStore checkpoints) {
    this.config = config;
    this.checkpoints = checkpoints;
  }

  /** The keys followed now, safe to read from any thread. */
  Set<Object> keys() {
    return keys;
  }

  TailedFile get(Object key) {
    return byKey.get(key);
  }

  /** Starts following the content whose first bytes are {@code head}, at {@code start}. */
  TailedFile follow(Object key, Path path, byte[] head, long start, boolean matched, long now) {
    String name = path.getFileName() == null ? path.toString() : path.getFileName().toString();
    FileIdentity identity = new FileIdentity(head, start, path.toString(), FileAttributes.of(path.toString(), name));
    TailedFile f = new TailedFile(key, path, identity, start, config.maxLineBytes(), config.multilineStart(), now);
    f.matched = matched;
    checkpoints.track(identity);
    add(f);
    return f;
  }

  @Override
  public boolean add(TailedFile f) {
    byKey.put(f.fileKey, f);
    keys.add(f.fileKey);
    return files.add(f);
  }

  /** Whether {@code key} is the copy some followed file holds. */
  boolean isHeldCopy(Object key) {
    return copyOwners.containsKey(key);
  }

  /** Makes {@code copy} the copy {@code owner} holds; returns the one it held before, if any (to close). */
  TailedFile.HeldCopy holdCopy(TailedFile owner, TailedFile.HeldCopy copy) {
    TailedFile.HeldCopy before = releaseCopy(owner);
    owner.copy = copy;
    copyOwners.put(copy.fileKey(), owner);
    return before;
  }

  /** Takes the copy {@code owner} holds away from it (to close it, or to follow it); null when none. */
  TailedFile.HeldCopy releaseCopy(TailedFile owner) {
    TailedFile.HeldCopy copy = owner.copy;
    if (copy != null) {
      copyOwners.remove(copy.fileKey());
      owner.copy = null;
    }
    return copy;
  }

  /** Stops following {@code f} (its handle is closed by the caller). */
  void remove(TailedFile f) {
    files.remove(f);
    if (byKey.get(f.fileKey) == f) {
      byKey.remove(f.fileKey);
      keys.remove(f.fileKey);
    }
  }

  @Override
  public Iterator<TailedFile> iterator() {
    return files.iterator();
  }

  @Override
  public int size() {
    return files.size();
  }
}
