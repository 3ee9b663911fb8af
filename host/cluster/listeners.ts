// A list of callbacks. Adding or removing swaps the array, so an emit in progress runs over the list as
// it was when the emit began. A throwing listener must not undo or half-finish a swap that already
// happened, so its error goes to an error sink instead of up the caller's stack.

export type ErrorSink = (err: unknown) => void;

const warnSink: ErrorSink = (err) => {
  process.emitWarning(`cluster listener failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
};

export class Listeners<A extends unknown[]> {
  private list: ReadonlyArray<(...args: A) => void> = [];

  constructor(private readonly sink: ErrorSink = warnSink) {}

  /** Returns the function that removes this listener. */
  add(cb: (...args: A) => void): () => void {
    this.list = [...this.list, cb];
    return () => {
      this.list = this.list.filter((x) => x !== cb);
    };
  }

  get size(): number {
    return this.list.length;
  }

  emit(...args: A): void {
    for (const cb of this.list) {
      try {
        cb(...args);
      } catch (err) {
        this.sink(err);
      }
    }
  }
}
