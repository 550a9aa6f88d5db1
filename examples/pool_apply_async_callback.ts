// Port of seed 001 (001_73e7860a1e92ec40.txt), "回调函数" / "使用多进程请求多个url来减少网络等待浪费的时间":
// the pool's workers download pages (get_page), and as each download finishes
// the main process parses it in a callback (parse_page), which appends a line
// to db.txt. The slow part, the network, runs in parallel; the callback gets
// results without waiting for the others.
//
// The seed fetches five public sites; this example serves five pages of its
// own on 127.0.0.1 (with different delays, so they finish out of order) and
// writes db.txt to a temporary folder.
//
//   deno run -A examples/pool_apply_async_callback.ts
import { type AsyncResult, currentProcess, Pool } from "../mod.ts";
import { sleep } from "./_time.ts";

interface Page {
  url: string;
  text: string;
}

export async function getPage(url: string): Promise<Page | undefined> {
  console.log(`<进程${currentProcess().pid}> get ${url}`);
  const response = await fetch(url);
  const text = await response.text();
  if (response.status === 200) return { url, text };
}

function parsePage(res: Page | undefined, db: string): void {
  if (!res) return; // get_page returned None (not a 200)
  console.log(`<进程${currentProcess().pid}> parse ${res.url}`);
  const parseRes = `url:<${res.url}> size:[${res.text.length}]\n`;
  Deno.writeTextFileSync(db, parseRes, { append: true });
}

/** Serves /0 ... /4, each after its own delay. */
function servePages(): Deno.HttpServer<Deno.NetAddr> {
  const delays = [0.6, 0.2, 1.0, 0.1, 0.4];
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const n = Number(new URL(request.url).pathname.slice(1));
    await sleep(delays[n] ?? 0);
    return new Response(
      `<!DOCTYPE html>\n<title>page ${n}</title>\n${"<p>text</p>\n".repeat(n + 1)}`,
    );
  });
}

if (import.meta.main) {
  const server = servePages();
  const base = `http://127.0.0.1:${server.addr.port}`;
  const db = `${await Deno.makeTempDir()}/db.txt`;
  const urls = [0, 1, 2, 3, 4].map((n) => `${base}/${n}`);

  const p = new Pool(3);
  const resL: AsyncResult<Page | undefined>[] = [];
  for (const url of urls) {
    const res = p.applyAsync(getPage, [url], { callback: (page) => parsePage(page, db) });
    resL.push(res);
  }
  p.close();
  await p.join();
  // The results of get_page; the callback has already handled each of them.
  const results = await Promise.all(resL.map((res) => res.get()));
  console.log(results.map((page) => ({ url: page!.url, text: `${page!.text.slice(0, 15)}...` })));

  console.log(`${db}:`);
  console.log(Deno.readTextFileSync(db).trimEnd());
  await server.shutdown();
  await Deno.remove(db.slice(0, db.lastIndexOf("/")), { recursive: true });
}
