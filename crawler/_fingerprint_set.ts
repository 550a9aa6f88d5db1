// A set of strings kept as 64-bit fingerprints: 16 bytes a string (an
// open-addressing table at most half full), against ~100 for a Set of URLs.
// The SQLite frontier keeps in one the URLs it knows are seen, so that a link
// to a page already seen costs no query.
//
// A fingerprint stands for its string: two strings with the same one are
// taken for each other. With a random 64-bit hash the chance of that in a
// crawl is about (lookups x strings) / 2^64: 5e-9 for a million links looked
// up in 100,000 URLs, 5e-6 for 100 million in a million. The hash is seeded
// at random in each process, so a server cannot craft links that collide.

/** The most strings a set holds (16 MB): past it, add() refuses. */
export const FINGERPRINTS_MAX = 1 << 20;

const FIRST_SLOTS = 1 << 12;

/** A set of 64-bit fingerprints of strings; see the top of the file. */
export class FingerprintSet {
  /** Pairs (high, low) of 32 bits; (0, 0) marks an empty slot. */
  #slots = new Uint32Array(FIRST_SLOTS * 2);
  #size = 0;
  readonly #max: number;
  readonly #seed1: number;
  readonly #seed2: number;
  /** The fingerprint of the last string hashed (set by #hash). */
  #high = 0;
  #low = 0;

  /** A set that holds at most `max` strings. */
  constructor(max = FINGERPRINTS_MAX) {
    this.#max = max;
    const seed = crypto.getRandomValues(new Uint32Array(2));
    this.#seed1 = seed[0];
    this.#seed2 = seed[1];
  }

  /** How many strings it holds. */
  get size(): number {
    return this.#size;
  }

  /** Whether `key` (or a string with its fingerprint) is in the set. */
  has(key: string): boolean {
    this.#hash(key);
    return this.#find() >= 0;
  }

  /** Adds `key`; false when the set is full (it then holds what it held). */
  add(key: string): boolean {
    this.#hash(key);
    if (this.#find() >= 0) return true;
    if (this.#size >= this.#max) return false;
    if ((this.#size + 1) * 2 > this.#slots.length / 2) this.#grow();
    this.#insert(this.#high, this.#low);
    this.#size++;
    return true;
  }

  /** Empties the set. */
  clear(): void {
    this.#slots = new Uint32Array(FIRST_SLOTS * 2);
    this.#size = 0;
  }

  /** 64 bits of a seeded hash of `key` (two 32-bit multiply-xor lanes, mixed). */
  #hash(key: string): void {
    let h1 = this.#seed1 ^ 0xdeadbeef;
    let h2 = this.#seed2 ^ 0x41c6ce57;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    this.#high = h1 >>> 0;
    // (0, 0) marks an empty slot: a fingerprint of zero is taken as (0, 1).
    this.#low = (h2 >>> 0) || (this.#high === 0 ? 1 : 0);
  }

  /** The slot of the last hashed fingerprint, or -1. */
  #find(): number {
    const slots = this.#slots;
    const mask = (slots.length >>> 1) - 1;
    for (let i = this.#low & mask;; i = (i + 1) & mask) {
      const high = slots[i * 2], low = slots[i * 2 + 1];
      if (high === this.#high && low === this.#low) return i;
      if (high === 0 && low === 0) return -1;
    }
  }

  #insert(high: number, low: number): void {
    const slots = this.#slots;
    const mask = (slots.length >>> 1) - 1;
    let i = low & mask;
    while (slots[i * 2] !== 0 || slots[i * 2 + 1] !== 0) i = (i + 1) & mask;
    slots[i * 2] = high;
    slots[i * 2 + 1] = low;
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== 0 || old[i + 1] !== 0) this.#insert(old[i], old[i + 1]);
    }
  }
}
