// Named shared memory (SharedMemory, ShareableList): created in one thread,
// attached to by name in another (a Process on either backend), unlinked,
// reused; and the errors of each misuse.
import assert from "node:assert/strict";
import { Process, Queue, ShareableList, SharedMemory } from "../mod.ts";
import { MAX_SEGMENTS } from "../lib/_named_memory.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;
const TASKS = "data:text/javascript," + encodeURIComponent(`
import { SharedMemory, ShareableList } from "${MOD}";
export function fill(name, value) {
  const shm = new SharedMemory({ name });
  shm.buf.fill(value);
  shm.close();
}
export async function create(names, attached) {
  const shm = new SharedMemory({ create: true, size: 5 });
  shm.buf.set([5, 4, 3, 2, 1]);
  await names.put(shm.name);
  await attached.get(); // the main thread has attached
  shm.close();
}
export function edit(name) {
  const sl = new ShareableList(null, { name });
  sl[0] = "hi";
  sl.set(1, sl.get(1) + 1);
  sl[2] = null;
  sl.shm.close();
}
`);
const { fill, create, edit } = await import(TASKS);

Deno.test("SharedMemory: created here, attached by name here and in Processes of both backends", async () => {
  const shm = new SharedMemory({ create: true, size: 1000 });
  assert.match(shm.name, /^psm_[0-9a-f]{8}$/);
  assert.equal(shm.size, 1000);
  assert.equal(shm.buf.length, 1000);
  assert.ok(shm.buf.every((b) => b === 0), "a new block is zeroed");
  const same = new SharedMemory({ name: shm.name });
  same.buf[999] = 42;
  assert.equal(shm.buf[999], 42);
  assert.equal(same.size, 1000);
  for (const backend of ["web", "node"] as const) {
    const value = backend === "web" ? 7 : 8;
    const p = new Process({ target: fill, args: [shm.name, value], modules: [TASKS], backend });
    p.start();
    await p.join();
    assert.equal(p.exitcode, 0);
    assert.ok(shm.buf.every((b) => b === value), backend);
  }
  same.close();
  shm.close();
  shm.unlink();
});

Deno.test("SharedMemory: created in a Process, attached by name here while it lives", async () => {
  const names = new Queue<string>();
  const attached = new Queue<string>();
  const p = new Process({ target: create, args: [names, attached], modules: [TASKS] });
  p.start();
  const name = await names.get();
  const shm = new SharedMemory({ name });
  assert.deepEqual([...shm.buf], [5, 4, 3, 2, 1]);
  await attached.put("attached");
  await p.join();
  // The creator closed its handle; the block lives on while this one is open.
  assert.deepEqual([...shm.buf], [5, 4, 3, 2, 1]);
  shm.unlink();
  shm.close();
});

Deno.test("SharedMemory: unlink removes the name; the bytes stay until the last handle closes, then are reused zeroed", () => {
  const shm = new SharedMemory({ name: "net_test_unlink", create: true, size: 64 });
  shm.buf.fill(9);
  shm.unlink();
  assert.throws(() => new SharedMemory({ name: "net_test_unlink" }), /no segment has that name/);
  assert.throws(() => shm.unlink(), /no segment has that name/);
  assert.equal(shm.buf[0], 9, "still readable through the open handle");
  const view = shm.buf;
  shm.close();
  shm.close();
  assert.throws(() => shm.buf, /is closed/);
  const next = new SharedMemory({ name: "net_test_unlink", create: true, size: 64 });
  assert.equal(next.buf.byteOffset, view.byteOffset, "the freed bytes are reused");
  assert.ok(next.buf.every((b) => b === 0), "and zeroed");
  next.close();
  next.unlink();
});

Deno.test("SharedMemory: misuse is refused with a message", () => {
  using taken = new SharedMemory({ name: "net_test_taken", create: true, size: 8 });
  assert.throws(
    () => new SharedMemory({ name: "net_test_taken", create: true, size: 8 }),
    /the name is taken/,
  );
  assert.throws(() => new SharedMemory({ name: "net_test_none" }), /no segment has that name/);
  assert.throws(() => new SharedMemory(), /give its 'name'/);
  for (const size of [0, -1, NaN, 1.5, undefined]) {
    assert.throws(() => new SharedMemory({ create: true, size }), RangeError, String(size));
  }
  assert.throws(
    () => new SharedMemory({ name: "x".repeat(65), create: true, size: 1 }),
    /1 to 64 bytes/,
  );
  assert.throws(() => new SharedMemory({ name: 5 as unknown as string }), TypeError);
  assert.throws(() => new SharedMemory({ nam: "x" } as unknown as object), /nam/);
  taken.unlink();
});

Deno.test(`SharedMemory: at most ${MAX_SEGMENTS} blocks at once`, () => {
  const blocks: SharedMemory[] = [];
  try {
    assert.throws(() => {
      for (;;) blocks.push(new SharedMemory({ create: true, size: 1 }));
    }, /blocks exist at once \(unlink some/);
    assert.ok(blocks.length <= MAX_SEGMENTS);
  } finally {
    for (const block of blocks) {
      block.close();
      block.unlink();
    }
  }
  using again = new SharedMemory({ create: true, size: 1 });
  again.unlink();
});

Deno.test("SharedMemory: freed entries are reused whatever their size; the limit is on blocks alive at once", () => {
  // One block alive at a time, each bigger than every freed one: more creations than
  // there are directory entries.
  for (let i = 0; i < MAX_SEGMENTS + 100; i++) {
    const shm = new SharedMemory({ create: true, size: 64 * (i + 1) });
    shm.close();
    shm.unlink();
  }
  // A freed entry whose block is still open (unlinked) counts until its last handle closes.
  const open = new SharedMemory({ create: true, size: 8 });
  open.unlink();
  using after = new SharedMemory({ create: true, size: 1_000_000 });
  assert.ok(after.buf.every((b) => b === 0));
  after.unlink();
  open.close();
});

Deno.test("SharedMemory: a small block takes and zeroes only its bytes of a big freed one", () => {
  const MiB = 1024 * 1024;
  const big = new SharedMemory({ create: true, size: 16 * MiB });
  big.buf.fill(0xff);
  const bigStart = big.buf.byteOffset;
  const grownTo = big.buf.buffer.byteLength;
  big.close();
  big.unlink();
  const small = new SharedMemory({ create: true, size: 8 });
  assert.equal(small.buf.byteOffset, bigStart, "it takes the freed bytes");
  assert.ok(small.buf.every((b) => b === 0), "zeroed");
  // The bytes past it (64-byte aligned) were not cleared: only the size asked for is.
  const past = new Uint8Array(small.buf.buffer, bigStart + 64, 64);
  assert.ok(past.every((b) => b === 0xff), "the rest of the freed block is left as it was");
  // The rest of the freed block takes another block, without growing the program's block.
  const half = new SharedMemory({ create: true, size: 8 * MiB });
  assert.ok(half.buf.byteOffset > bigStart && half.buf.byteOffset < bigStart + 16 * MiB);
  assert.equal(half.buf.buffer.byteLength, grownTo);
  assert.ok(half.buf.every((b) => b === 0), "zeroed");
  for (const shm of [small, half]) {
    shm.close();
    shm.unlink();
  }
});

Deno.test("ShareableList: every kind of item, read and written in shared memory", () => {
  const bytes = new Uint8Array([1, 2, 3]);
  const sl = new ShareableList([1, 2.5, -3n, true, "héllo", bytes, null]);
  assert.equal(sl.length, 7);
  assert.deepEqual([...sl], [1, 2.5, -3n, true, "héllo", bytes, null]);
  assert.equal(sl.format, "ddq?8s8sx");
  assert.equal(sl[4], "héllo");
  assert.equal(sl[-1], null);
  sl[0] = 2 ** 53;
  assert.equal(sl.get(0), 2 ** 53);
  sl.set(6, "fits 8 b"); // a null's slot holds 8 bytes
  assert.equal(sl[6], "fits 8 b");
  sl.set(4, 12n);
  assert.equal(sl[4], 12n);
  assert.equal(sl.count(12n), 1);
  sl[0] = NaN;
  assert.equal(sl.count(NaN), 0, "NaN equals nothing, as in Python");
  assert.throws(() => sl.index(NaN), /Cannot find NaN/);
  sl[0] = 2 ** 53;
  assert.equal(sl.index(true), 3);
  assert.equal(sl.index(new Uint8Array([1, 2, 3])), 5);
  assert.throws(() => sl.index("absent"), /Cannot find "absent"/);
  assert.throws(() => sl.set(5, "longer than eight"), /do not fit in its slot of 8/);
  assert.throws(() => sl.set(7, 1), /the list has 7 items/);
  assert.throws(() => sl.get(-8), RangeError);
  assert.throws(() => sl.set(0, undefined as unknown as null), /holds numbers/);
  assert.throws(() => sl.set(0, 2n ** 63n), /does not fit in 64 bits/);
  assert.throws(() => new ShareableList([{}] as unknown as number[]), TypeError);
  assert.throws(() => new ShareableList(), /give its 'name'/);
  using plain = new SharedMemory({ create: true, size: 4 });
  plain.buf.set([255, 255, 255, 127]);
  assert.throws(() => new ShareableList(null, { name: plain.name }), /does not hold one/);
  plain.unlink();
  sl.shm.close();
  sl.shm.unlink();
});

Deno.test("ShareableList: attached by name in a Process, which edits it", async () => {
  const sl = new ShareableList(["a", 41, "will be null"], { name: "net_test_list" });
  const p = new Process({ target: edit, args: ["net_test_list"], modules: [TASKS] });
  p.start();
  await p.join();
  assert.equal(p.exitcode, 0);
  assert.deepEqual([...sl], ["hi", 42, null]);
  const empty = new ShareableList([]);
  assert.equal(empty.length, 0);
  empty.shm.close();
  empty.shm.unlink();
  sl.shm.close();
  sl.shm.unlink();
});
