// Work on one key runs one piece after the other, work on different keys at once: a plugin's config pushes
// (host/plugin/push.ts), a cluster's host-list changes (host/server/host.ts).

export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every earlier piece of work on `key` has settled (whether it failed or not). */
  run<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
    const next = (this.tails.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
    this.tails.set(key, next);
    // The key is forgotten once its last piece settles, so that the map holds only keys with work queued.
    void next
      .finally(() => {
        if (this.tails.get(key) === next) this.tails.delete(key);
      })
      .catch(() => undefined);
    return next;
  }
}
