// CPython's _TestContainers (Lib/test/_test_multiprocessing.py), ported to the Manager's proxies.
//
// Departures that run through the whole class: proxy methods are async (`await l.get(2)` for
// `l[2]`); a list proxy has append, extend, get, set, pop, length and toArray, a dict proxy
// get, set, delete, has, keys, values, entries, length, update and toObject, a namespace get,
// set and toObject, so slices (`a[:]`, `b[2:10]`), `*=`, `+`, `clear()` and `del` are spelled
// with those (a copy, then plain array work); and dict keys are strings, as a JavaScript
// object's are.
//
// Left out:
// - test_list_iter, test_dict_iter: proxies are not iterable; toArray()/keys() return copies, so
//   "modified during iteration" (a live iterator) does not arise.
import assert from "node:assert/strict";
import { DictProxy, ListProxy, ManagedProxy, Manager, type Queue } from "../../mod.ts";

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

Deno.test("_TestContainers.test_list", async () => {
  await using manager = new Manager();
  const a = manager.list(range(10));
  assert.deepEqual(await a.toArray(), range(10));

  const b = manager.list();
  assert.deepEqual(await b.toArray(), []);

  await b.extend(range(5));
  assert.deepEqual(await b.toArray(), range(5));

  assert.equal(await b.get(2), 2);
  assert.deepEqual((await b.toArray()).slice(2, 10), [2, 3, 4]);

  // b *= 2
  await b.extend(await b.toArray());
  assert.deepEqual(await b.toArray(), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);

  // b + [5, 6]
  assert.deepEqual([...await b.toArray(), 5, 6], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6]);

  assert.deepEqual(await a.toArray(), range(10));

  const d = [a, b];
  const e = manager.list(d);
  const elements = await e.toArray() as ListProxy[];
  assert.deepEqual(
    await Promise.all(elements.map((element) => element.toArray())),
    [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]],
  );

  const f = manager.list([a]);
  await a.append("hello");
  assert.deepEqual(
    await (await f.get(0) as ListProxy).toArray(),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, "hello"],
  );
});

Deno.test("_TestContainers.test_list_isinstance", async () => {
  // Departure: Python checks the MutableSequence methods (__contains__, insert, remove, ...);
  // the list proxy here has the methods the API names, all async.
  await using manager = new Manager();
  const a = manager.list();
  assert.ok(a instanceof ListProxy);
  assert.ok(a instanceof ManagedProxy);

  const methods = ["append", "extend", "get", "set", "pop", "length", "toArray"] as const;
  for (const name of methods) assert.equal(typeof a[name], "function", name);
});

Deno.test("_TestContainers.test_list_proxy_in_list", async () => {
  await using manager = new Manager();
  const a = manager.list(range(3).map(() => manager.list(range(3))));
  const inner = async (i: number) => await a.get(i) as ListProxy;
  const all = await a.toArray() as ListProxy[];
  assert.deepEqual(await Promise.all(all.map((l) => l.toArray())), [[0, 1, 2], [0, 1, 2], [
    0,
    1,
    2,
  ]]);

  await (await inner(0)).set(-1, 55);
  assert.deepEqual(await (await inner(0)).toArray(), [0, 1, 55]);
  for (let i = 1; i < 3; i++) assert.deepEqual(await (await inner(i)).toArray(), [0, 1, 2]);

  assert.equal(await (await inner(1)).pop(), 2);
  assert.equal(await (await inner(1)).length(), 2);
  for (const i of [0, 2]) assert.equal(await (await inner(i)).length(), 3);

  const b = manager.list();
  await b.append(b);
  assert.equal(await b.length(), 1);
});

Deno.test("_TestContainers.test_dict", async () => {
  await using manager = new Manager();
  const d = manager.dict();
  const indices = range(5).map((i) => i + 65);
  for (const i of indices) await d.set(String(i), String.fromCharCode(i));
  assert.deepEqual(
    await d.toObject(),
    Object.fromEntries(indices.map((i) => [i, String.fromCharCode(i)])),
  );
  assert.deepEqual((await d.keys()).sort(), indices.map(String));
  assert.deepEqual(
    (await d.values() as string[]).sort(),
    indices.map((i) => String.fromCharCode(i)),
  );
  assert.deepEqual(
    (await d.entries()).sort(),
    indices.map((i) => [String(i), String.fromCharCode(i)]),
  );
});

Deno.test("_TestContainers.test_dict_isinstance", async () => {
  // Departure: Python checks the MutableMapping methods (__delitem__, popitem, setdefault, ...);
  // the dict proxy here has the methods the API names, all async.
  await using manager = new Manager();
  const a = manager.dict();
  assert.ok(a instanceof DictProxy);
  assert.ok(a instanceof ManagedProxy);

  const methods = [
    "get",
    "set",
    "delete",
    "has",
    "keys",
    "values",
    "entries",
    "length",
    "update",
    "toObject",
  ] as const;
  for (const name of methods) assert.equal(typeof a[name], "function", name);
});

Deno.test("_TestContainers.test_dict_proxy_nested", async () => {
  await using manager = new Manager();
  let pets: DictProxy | undefined = manager.dict({ ferrets: 2, hamsters: 4 });
  let supplies: DictProxy | undefined = manager.dict({ water: 10, feed: 3 });
  const d = manager.dict({ pets, supplies });
  const item = async (key: string) => await d.get(key) as DictProxy;

  assert.equal(await supplies.get("water"), 10);
  assert.equal(await (await item("supplies")).get("water"), 10);

  await (await item("supplies")).set("blankets", 5);
  assert.equal(await supplies.get("blankets"), 5);
  assert.equal(await (await item("supplies")).get("blankets"), 5);

  await (await item("supplies")).set("water", 7);
  assert.equal(await supplies.get("water"), 7);
  assert.equal(await (await item("supplies")).get("water"), 7);

  pets = undefined; // del pets
  supplies = undefined; // del supplies
  assert.equal(await (await item("pets")).get("ferrets"), 2);
  await (await item("supplies")).set("blankets", 11);
  assert.equal(await (await item("supplies")).get("blankets"), 11);

  pets = await item("pets");
  supplies = await item("supplies");
  await supplies.set("water", 7);
  assert.equal(await supplies.get("water"), 7);
  assert.equal(await (await item("supplies")).get("water"), 7);

  // d.clear()
  for (const key of await d.keys()) await d.delete(key);
  assert.equal(await d.length(), 0);
  assert.equal(await supplies.get("water"), 7);
  assert.equal(await pets.get("hamsters"), 4);

  const l = manager.list([pets, supplies]);
  await (await l.get(0) as DictProxy).set("marmots", 1);
  assert.equal(await pets.get("marmots"), 1);
  assert.equal(await (await l.get(0) as DictProxy).get("marmots"), 1);

  pets = undefined; // del pets
  supplies = undefined; // del supplies
  assert.equal(await (await l.get(0) as DictProxy).get("marmots"), 1);

  const outer = manager.list([[88, 99], l]);
  assert.ok(Array.isArray(await outer.get(0))); // Not a ListProxy
  const last = await outer.get(-1) as ListProxy;
  assert.equal(await (await last.get(-1) as DictProxy).get("feed"), 3);
});

Deno.test("_TestContainers.test_nested_queue", async () => {
  await using manager = new Manager();
  const a = manager.list(); // Test queue inside list
  await a.append(manager.Queue());
  await (await a.get(0) as Queue<number>).put(123);
  assert.equal(await (await a.get(0) as Queue<number>).get(), 123);
  const b = manager.dict(); // Test queue inside dict
  await b.set("0", manager.Queue());
  await (await b.get("0") as Queue<number>).put(456);
  assert.equal(await (await b.get("0") as Queue<number>).get(), 456);
});

Deno.test("_TestContainers.test_namespace", async () => {
  // Departure: a namespace proxy has get/set/toObject: no `del n.job`, and toObject() (the
  // nearest to str(n)) shows every attribute, where Python's repr hides the _-prefixed ones. A
  // missing attribute reads undefined (Python: AttributeError, so hasattr() is False).
  await using manager = new Manager();
  const n = manager.namespace();
  await n.set("name", "Bob");
  await n.set("job", "Builder");
  await n.set("_hidden", "hidden");
  assert.deepEqual([await n.get("name"), await n.get("job")], ["Bob", "Builder"]);
  assert.deepEqual(await n.toObject(), { name: "Bob", job: "Builder", _hidden: "hidden" });
  assert.equal(await n.get("name"), "Bob"); // hasattr(n, 'name')
  assert.equal(await n.get("nobody"), undefined); // not hasattr(n, 'nobody')
});
