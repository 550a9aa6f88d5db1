// Port of seed 003 (003_392ab84c41d69be6.txt), "互斥锁": ten buyers check the
// tickets left in db.json at the same time, then buy one by one under a Lock.
// db.json holds 1 ticket: one buyer gets it, and without the lock several
// could read "1 left" and all "buy" it.
//
// The seed works in the current folder; this example makes a temporary one.
//
//   deno run -A examples/lock_ticket_purchase.ts
import { Lock, Process } from "../mod.ts";
import { randint, sleep } from "./_time.ts";

// Check the tickets (concurrently).
async function search(name: string): Promise<void> {
  const dic = JSON.parse(await Deno.readTextFile("db.json"));
  await sleep(1); // checking takes a while
  console.log(`${name} 查看到余票为 ${dic.count}`);
}

// Buy a ticket (one buyer at a time: the caller holds the lock).
async function get(name: string): Promise<void> {
  const dic = JSON.parse(await Deno.readTextFile("db.json"));
  if (dic.count > 0) {
    dic.count -= 1;
    await sleep(randint(1, 3));
    // Written aside and renamed over db.json: a buyer still checking (search
    // holds no lock) reads the old file or the new one, never a half-written one.
    await Deno.writeTextFile("db.json.new", JSON.stringify(dic));
    await Deno.rename("db.json.new", "db.json");
    console.log(`${name} 购票成功`);
  } else {
    console.log(`${name} 查看到没有票了`);
  }
}

export async function task(name: string, mutex: Lock): Promise<void> {
  await search(name); // concurrent
  await mutex.acquire(); // serial from here
  await get(name);
  mutex.release();
}

if (import.meta.main) {
  const folder = await Deno.makeTempDir();
  Deno.chdir(folder); // the workers share the process's current folder
  await Deno.writeTextFile("db.json", JSON.stringify({ count: 1 }));

  const mutex = new Lock(); // made by the main process, passed to each buyer
  const buyers: Process[] = [];
  for (let i = 0; i < 10; i++) {
    const p = new Process({ target: task, args: [`路人${i}`, mutex] });
    p.start();
    buyers.push(p);
  }
  for (const p of buyers) await p.join(); // (the seed lets the program wait for them)
  console.log("db.json:", await Deno.readTextFile("db.json"));
  await Deno.remove(folder, { recursive: true });
}
