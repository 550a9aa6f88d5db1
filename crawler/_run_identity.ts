// Which process a run of a shared crawl is, and whether it is still alive.
// A process killed with kill -9 cannot say goodbye: its leases would hold its
// URLs until they run out (--lease). On the same machine we can do better: a
// run records its machine (host name and boot), pid and the pid's start time,
// and a process of the same machine that finds the pid gone (or reused by
// another program, which has another start time) releases the run at once.

/** Who a run is. */
export interface RunIdentity {
  /** The host name and boot id: the same pid on another machine or boot is another process. */
  machine: string;
  /** The host name alone, for messages. */
  hostname: string;
  pid: number;
  /** The pid's start time (clock ticks since boot), "" when unknown. */
  started: string;
}

let self: RunIdentity | undefined;

/** This process. */
export function currentRun(): RunIdentity {
  if (self) return self;
  let hostname = "unknown-host";
  try {
    hostname = Deno.hostname();
  } catch {
    // No permission: the machine is then told apart by its boot id only.
  }
  let boot = "";
  try {
    boot = Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
  } catch {
    // Not Linux: runs are then released by their leases only.
  }
  self = {
    machine: boot ? `${hostname}/${boot}` : "",
    hostname,
    pid: Deno.pid,
    started: startTime(Deno.pid) ?? "",
  };
  return self;
}

/**
 * The start time of `pid` (field 22 of /proc/PID/stat), or undefined when
 * there is no such process, or only its zombie (killed, not yet waited for).
 */
function startTime(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" || fields[0] === "X" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether the process of `run` is alive: true or false when it ran on this
 * machine and this can be checked, undefined otherwise (its lease decides).
 */
export function isAlive(run: RunIdentity): boolean | undefined {
  const me = currentRun();
  if (!me.machine || run.machine !== me.machine || !run.started) return undefined;
  if (run.pid === me.pid && run.started === me.started) return true;
  const started = startTime(run.pid);
  return started !== undefined && started === run.started;
}

/** "pid 123 on host" */
export function describeRun(run: RunIdentity): string {
  return `pid ${run.pid} on ${run.hostname}`;
}
