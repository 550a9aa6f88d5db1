// Entry of a pool worker on a Web Worker (the default backend).
import { runWorker } from "./_worker_runtime.ts";

/** The parts of a Web Worker's global scope used here. */
const scope = globalThis as unknown as {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
};

runWorker({
  post: (message, transfer = []) => scope.postMessage(message, transfer),
  listen: (onMessage) => {
    scope.onmessage = (event) => onMessage(event.data);
  },
  interceptClose: (beforeClose) => {
    const close = scope.close.bind(scope);
    scope.close = () => {
      beforeClose();
      close();
    };
  },
});
