// Port of seed 001 (001_73e7860a1e92ec40.txt), the second "pipe初使用": the child
// reads until EOFError. A pipe end is counted like a file descriptor: EOFError
// comes only once every copy of the sending end is closed, in every process.
// The child holds a copy of parentConn too, so it must close it; the seed
// leaves that line commented out ("不写close将不会引发EOFError": without it,
// no EOFError and the child waits forever). The seed's loop also lacks the
// `break` after EOFError.
//
//   deno run -A examples/pipe_eof.ts
import { type Connection, EOFError, Pipe, Process } from "../mod.ts";

export async function f(parentConn: Connection, childConn: Connection): Promise<void> {
  parentConn.close(); // without this close, no EOFError
  while (true) {
    try {
      console.log(await childConn.recv());
    } catch (error) {
      if (!(error instanceof EOFError)) throw error;
      console.log("EOFError: every copy of the other end is closed");
      childConn.close();
      break;
    }
  }
}

if (import.meta.main) {
  const [parentConn, childConn] = Pipe();
  const p = new Process({ target: f, args: [parentConn, childConn] });
  p.start();
  childConn.close();
  parentConn.send("hello");
  parentConn.close();
  await p.join();
}
