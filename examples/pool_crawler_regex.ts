// Port of seed 001 (001_73e7860a1e92ec40.txt), "爬虫实例": a worker downloads a
// movie board page and returns it with the regular expression to apply; the
// callback, on the main process, extracts each movie with that expression.
// A RegExp travels to the worker and back like any other argument.
//
// The seed crawls maoyan.com/board/7; this example serves a page of the same
// markup on 127.0.0.1.
//
//   deno run -A examples/pool_crawler_regex.ts
import { type AsyncResult, Pool } from "../mod.ts";

export async function getPage(url: string, pattern: RegExp): Promise<[RegExp, string]> {
  const response = await (await fetch(url)).text();
  return [pattern, response];
}

function parsePage([pattern, pageContent]: [RegExp, string]): void {
  for (const item of pageContent.matchAll(pattern)) {
    const dic = {
      index: item[1].trim(),
      title: item[2].trim(),
      actor: item[3].trim(),
      time: item[4].trim(),
    };
    console.log(dic);
  }
}

const MOVIES = [
  ["霸王别姬", "张国荣,张丰毅,巩俐", "1993-01-01"],
  ["肖申克的救赎", "蒂姆·罗宾斯,摩根·弗里曼,鲍勃·冈顿", "1994-09-10(加拿大)"],
  ["罗马假日", "格利高里·派克,奥黛丽·赫本,埃迪·艾伯特", "1953-09-02(美国)"],
];

/** The board page, in maoyan's markup of the time. */
function boardPage(): string {
  const items = MOVIES.map(([title, actors, release], i) => `
    <dd>
      <i class="board-index board-index-${i + 1}">${i + 1}</i>
      <a href="/films/${1203 + i}" title="${title}" class="image-link"></a>
      <div class="board-item-main"><div class="board-item-content">
        <div class="movie-item-info">
          <p class="name"><a href="/films/${1203 + i}" title="${title}">${title}</a></p>
          <p class="star">
            主演：${actors}
          </p>
          <p class="releasetime">上映时间：${release}</p>
        </div>
      </div></div>
    </dd>`);
  return `<html><body><dl class="board-wrapper">${items.join("")}\n</dl></body></html>`;
}

if (import.meta.main) {
  const page = boardPage();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );
  const regex =
    /<dd>.*?<.*?class="board-index.*?>(\d+)<\/i>.*?title="(.*?)".*?class="movie-item-info".*?<p class="star">(.*?)<\/p>.*?<p class="releasetime">(.*?)<\/p>/gs; // re.S is the s flag
  const urlDic = new Map([[`http://127.0.0.1:${server.addr.port}/board/7`, regex]]);

  const p = new Pool();
  const resL: AsyncResult<[RegExp, string]>[] = [];
  for (const [url, pattern] of urlDic) {
    const res = p.applyAsync(getPage, [url, pattern], { callback: parsePage });
    resL.push(res);
  }
  for (const i of resL) await i.get();
  await p.terminate(); // the seed never closes its pool; its process ends with the program
  await server.shutdown();
}
