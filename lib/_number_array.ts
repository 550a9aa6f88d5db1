// Map chunks of plain numbers (the common `pool.map(f, range)` case) travel as
// a transferred Float64Array: no per-item encoding on either side and no copy
// in between. Float64 holds every JS number exactly, -0 and NaN included.

const MIN_LENGTH = 256;

/** Packs `items` into a Float64Array when all are numbers and there are enough to pay off. */
export function packNumbers(items: ArrayLike<unknown>): Float64Array<ArrayBuffer> | undefined {
  if (!Array.isArray(items) || items.length < MIN_LENGTH) return undefined;
  const packed = new Float64Array(new ArrayBuffer(items.length * 8));
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    if (typeof v !== "number") return undefined;
    packed[i] = v;
  }
  return packed;
}
