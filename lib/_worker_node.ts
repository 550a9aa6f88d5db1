// Entry of a pool worker on node:worker_threads (PoolOptions.backend "node").
import { parentPort } from "node:worker_threads";
import { runWorker } from "./_worker_runtime.ts";

const port = parentPort!;
runWorker({
  post: (message, transfer = []) => port.postMessage(message, transfer),
  listen: (onMessage) => port.on("message", onMessage),
});
