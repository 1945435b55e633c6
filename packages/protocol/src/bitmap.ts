/**
 * Fixed-size bitmaps, stored base64 in the task record, one bit per subtask. Setting a bit twice
 * is a no-op, which is what makes outcome counting idempotent under redelivery.
 */

export function emptyBitmap(bits: number): string {
  return Buffer.alloc(Math.ceil(bits / 8)).toString('base64');
}

export class Bitmap {
  private constructor(private readonly bytes: Uint8Array) {}

  static decode(b64: string): Bitmap {
    return new Bitmap(new Uint8Array(Buffer.from(b64, 'base64')));
  }

  has(i: number): boolean {
    return ((this.bytes[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
  }

  /** Sets bit i; returns false when it was already set. */
  set(i: number): boolean {
    const byte = i >> 3;
    if (byte >= this.bytes.length)
      throw new RangeError(`bit ${i} outside bitmap of ${this.bytes.length * 8}`);
    const mask = 1 << (i & 7);
    const old = this.bytes[byte] ?? 0;
    if (old & mask) return false;
    this.bytes[byte] = old | mask;
    return true;
  }

  count(): number {
    let n = 0;
    for (const b of this.bytes) {
      let v = b;
      while (v) {
        v &= v - 1;
        n++;
      }
    }
    return n;
  }

  encode(): string {
    return Buffer.from(this.bytes).toString('base64');
  }
}
