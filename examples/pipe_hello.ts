// Port of seed 001 (001_73e7860a1e92ec40.txt), "pipe初使用": the child sends one
// message through its end of a Pipe and closes it; the parent receives it.
//
//   deno run -A examples/pipe_hello.ts
import { type Connection, Pipe, Process } from "../mod.ts";

export function f(conn: Connection): void {
  conn.send("Hello The_Third_Wave");
  conn.close();
}

if (import.meta.main) {
  const [parentConn, childConn] = Pipe();
  const p = new Process({ target: f, args: [childConn] });
  p.start();
  console.log(await parentConn.recv());
  await p.join();
}
