/**
 * `transfer()`: move `ArrayBuffer`s to or from a Pool task instead of copying them.
 *
 * @module
 */
import { markTransfer } from "./_transfer_marks.ts";
import { describeValue } from "./_timeout.ts";

/**
 * Marks `value` so that, when it travels as a task argument (or a map item)
 * or comes back as a task's result, the buffers of `transferList` move to the
 * other thread instead of being copied: the sender's buffers become detached
 * (length 0), and a 64 MiB buffer crosses in a fraction of a millisecond
 * instead of the ~20 ms a copy takes. Python has no such thing (it pickles).
 *
 * Mark the argument or the result itself (not an object inside one); the
 * value travels by structured clone, with its other contents copied. A task
 * whose buffers moved cannot be re-queued if its worker is replaced (its
 * buffers went with it): it fails instead.
 *
 * @param value The argument or result to send: a typed array, an
 *   `ArrayBuffer`, or an object holding them.
 * @param transferList The `ArrayBuffer`s to move (a typed array's is its `.buffer`; typed as
 *   `ArrayBufferLike` so that any typed array's `.buffer` fits, but a `SharedArrayBuffer` is
 *   refused).
 * @returns `value` itself, marked.
 * @throws {TypeError} When `value` is not an object, or the list holds something
 *   other than `ArrayBuffer`s (a `SharedArrayBuffer` is shared already, never moved).
 * @throws {RangeError} When a buffer is already detached.
 *
 * @example An argument that moves (the caller's copy is detached)
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool } from "./pool.ts";
 * import { transfer } from "./transfer.ts";
 * const tasks = "data:text/javascript,export function sum(bytes) { return bytes.reduce((a, b) => a + b, 0); }";
 * const { sum } = await import(tasks);
 * await using pool = new Pool({ processes: 1, modules: [tasks] });
 * const bytes = new Uint8Array([1, 2, 3]);
 * assert.equal(await pool.apply(sum, [transfer(bytes, [bytes.buffer])]), 6);
 * assert.equal(bytes.byteLength, 0); // moved, not copied
 * ```
 */
export function transfer<T>(value: T, transferList: readonly ArrayBufferLike[]): T {
  const action = "transfer";
  if ((typeof value !== "object" && typeof value !== "function") || value === null) {
    throw new TypeError(
      `Cannot ${action}: 'value' must be the object that holds the buffers (a typed array, ` +
        `an ArrayBuffer, an object), received ${describeValue(value)}`,
    );
  }
  if (!Array.isArray(transferList)) {
    throw new TypeError(
      `Cannot ${action}: 'transferList' must be an array of ArrayBuffers, received ` +
        describeValue(transferList),
    );
  }
  const buffers = new Set<ArrayBuffer>();
  transferList.forEach((buffer: unknown, i) => {
    if (!(buffer instanceof ArrayBuffer)) {
      const hint = ArrayBuffer.isView(buffer) ? " (a typed array's buffer is its .buffer)" : "";
      throw new TypeError(
        `Cannot ${action}: 'transferList[${i}]' must be an ArrayBuffer${hint}, received ` +
          describeValue(buffer),
      );
    }
    if (buffer.detached) {
      throw new RangeError(
        `Cannot ${action}: 'transferList[${i}]' is detached (it was moved already)`,
      );
    }
    buffers.add(buffer);
  });
  markTransfer(value as object, [...buffers]);
  return value;
}
