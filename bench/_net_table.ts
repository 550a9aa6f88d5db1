// The networking rows of `deno task bench`, in a table of their own:
// net_workloads.ts (this project) against anchors/python_net.py (Python's
// multiprocessing.connection and BaseManager), run one after the other.

interface Row {
  workload: string;
  value: number;
  unit: string;
}

const here = new URL(".", import.meta.url);

async function rows(command: string, args: string[]): Promise<Map<string, Row> | string> {
  try {
    const out = await new Deno.Command(command, {
      args,
      cwd: here,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      return `exit ${out.code}: ${new TextDecoder().decode(out.stderr).slice(-300)}`;
    }
    const found = new Map<string, Row>();
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      if (line.startsWith("{")) {
        const row = JSON.parse(line) as Row;
        found.set(row.workload, row);
      }
    }
    return found;
  } catch (error) {
    return (error as Error).message;
  }
}

function fmt(v: number): string {
  return v >= 1000 ? Math.round(v).toLocaleString("en-US") : v.toFixed(v >= 10 ? 1 : 2);
}

/**
 * Runs the networking workloads on both sides and returns the Markdown lines
 * of their table. `scale` shrinks them (1: the full size).
 */
export async function netTable(scale = 1): Promise<string[]> {
  console.error("Running the networking workloads (this project, then Python) ...");
  const ours = await rows(Deno.execPath(), ["run", "-A", "net_workloads.ts", String(scale)]);
  if (typeof ours === "string") throw new Error(`The project's net workloads failed: ${ours}`);
  const python = await rows("python3", ["anchors/python_net.py", String(scale)]);
  const lines = [
    "| networking workload | this project | Python (ratio) | target |",
    "|---|---|---|---|",
  ];
  const table: [key: string, anchorKey: string, label: string, target: string][] = [
    [
      "netRoundTrip",
      "netRoundTrip",
      "recvBytes round trip, 100 B, loopback TCP, Deno ↔ Deno vs Python ↔ Python",
      "<= 0.5x Python",
    ],
    ["netRoundTripPy", "netRoundTrip", "the same, Deno client ↔ Python Listener", ""],
    [
      "netRoundTripBare",
      "netRoundTripBare",
      "the same bytes over a bare socket, no multiprocessing code (Deno.Conn vs socket)",
      "",
    ],
    ["netRoundTripBig", "netRoundTripBig", "the same with 1 MiB messages", ""],
    [
      "managerQueue",
      "managerQueue",
      "BaseManager queue, put then get through a proxy, each call awaited",
      "",
    ],
    [
      "managerQueuePipelined",
      "managerQueue",
      "the same, 64 calls in flight (Python: each call blocks)",
      ">= 3x Python",
    ],
  ];
  for (const [key, anchorKey, label, target] of table) {
    const mine = ours.get(key);
    if (!mine) continue;
    const theirs = typeof python === "string" ? undefined : python.get(anchorKey);
    const cell = theirs
      ? `${fmt(theirs.value)} ${theirs.unit} (ours ${(mine.value / theirs.value).toFixed(2)}x)`
      : "skipped";
    lines.push(`| ${label} | ${fmt(mine.value)} ${mine.unit} | ${cell} | ${target} |`);
  }
  if (typeof python === "string") lines.push(`Python networking skipped: ${python}`);
  return lines;
}

if (import.meta.main) {
  console.log((await netTable(Number(Deno.args[0] ?? 1))).join("\n"));
}
