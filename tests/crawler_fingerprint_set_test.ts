import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { FingerprintSet } from "../crawler/_fingerprint_set.ts";

const url = (i: number) => `http://127.0.0.1:${8000 + (i % 200)}/p/${i}`;

Deno.test("FingerprintSet holds what was added, and nothing else, as it grows", () => {
  const set = new FingerprintSet();
  for (let i = 0; i < 100_000; i++) assert(set.add(url(i)));
  assertEquals(set.size, 100_000);
  // Added twice: still one.
  assert(set.add(url(7)));
  assertEquals(set.size, 100_000);
  for (let i = 0; i < 100_000; i++) assert(set.has(url(i)), url(i));
  // 64-bit fingerprints: 200,000 strings never added are all missed.
  for (let i = 100_000; i < 300_000; i++) assert(!set.has(url(i)), url(i));
  assert(!set.has(`${url(1)}/`));
  assert(!set.has(url(1).toUpperCase()));
});

Deno.test("FingerprintSet takes any string: empty, NUL, lone surrogates, astral characters", () => {
  const set = new FingerprintSet();
  const odd = ["", "\0", "\0\0", "\ud800", "\udc00", "😀", "a".repeat(100_000)];
  for (const key of odd) set.add(key);
  for (const key of odd) assert(set.has(key), JSON.stringify(key.slice(0, 10)));
  assertEquals(set.size, odd.length);
  assert(!set.has("\0\0\0"));
  assert(!set.has("a".repeat(99_999)));
});

Deno.test("FingerprintSet refuses past its bound and keeps what it held; clear() empties it", () => {
  const set = new FingerprintSet(10);
  for (let i = 0; i < 10; i++) assert(set.add(url(i)));
  assert(!set.add(url(10)), "an eleventh string is refused");
  assert(set.add(url(3)), "a string it holds is still taken");
  assertEquals(set.size, 10);
  assert(!set.has(url(10)));
  for (let i = 0; i < 10; i++) assert(set.has(url(i)));
  set.clear();
  assertEquals(set.size, 0);
  assert(!set.has(url(0)));
  assert(set.add(url(10)));
});
