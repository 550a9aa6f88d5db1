// Lets a Value place its lock's words next to its number, in one
// SharedArrayBuffer: a contended increment then moves one cache line between
// cores instead of two.

let next: SharedArrayBuffer | undefined;

/** Runs `make` so that the primitive it creates uses the start of `buffer` for its words. */
export function placeIn<T>(buffer: SharedArrayBuffer, make: () => T): T {
  next = buffer;
  try {
    return make();
  } finally {
    next = undefined;
  }
}

/** The buffer a primitive being created should use, if one was given. */
export function takePlacement(): SharedArrayBuffer | undefined {
  const buffer = next;
  next = undefined;
  return buffer;
}
