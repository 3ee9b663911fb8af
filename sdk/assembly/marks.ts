// Membership stamps: one u32 per table index, and a generation number that changes per use. A set is
// "every index whose stamp equals the generation", so clearing a set costs O(1), not O(hosts), and both
// marking and testing are O(1). Used for "offered in this request" and for "kept by this result".

export class Marks {
  private stamps: StaticArray<u32> = new StaticArray<u32>(0);
  private gen: u32 = 0;

  /** Start an empty set over indices 0 .. size-1. */
  clear(size: i32): void {
    if (this.stamps.length < size) {
      this.stamps = new StaticArray<u32>(size);
      this.gen = 0;
    }
    this.gen++;
    // After 2^32 generations stale stamps would match again: start over from a zeroed array.
    if (this.gen == 0) {
      this.stamps = new StaticArray<u32>(this.stamps.length);
      this.gen = 1;
    }
  }

  add(index: i32): void {
    unchecked((this.stamps[index] = this.gen));
  }

  remove(index: i32): void {
    unchecked((this.stamps[index] = this.gen - 1));
  }

  has(index: i32): bool {
    return unchecked(this.stamps[index]) == this.gen;
  }
}

export const offeredMarks = new Marks();
export const keptMarks = new Marks();
