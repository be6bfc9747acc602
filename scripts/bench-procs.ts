/**
 * What a process tree costs, read from /proc: CPU ticks (utime + stime of every thread, all
 * descendants included, so nginx's master and worker count together) and resident memory.
 */
import { readFileSync, readdirSync } from "node:fs";

/** Clock ticks per second for /proc/PID/stat (USER_HZ; 100 on every Linux build we run on). */
const TICK_US = 1_000_000 / 100;

/** The pid and every descendant, read from /proc/PID/task/TID/children. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < 1000) {
    const next = queue.shift()!;
    out.push(next);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${next}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        for (const child of readFileSync(`/proc/${next}/task/${tid}/children`, "utf8").trim().split(/\s+/)) {
          if (child) queue.push(Number(child));
        }
      } catch {
        // the thread ended while we looked
      }
    }
  }
  return out;
}

/** CPU time of the tree in microseconds (10 ms resolution per process). */
export function cpuMicros(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // gone
    }
  }
  return ticks * TICK_US;
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident set of the tree now, in MB. */
export function rssMb(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + statusKb(p, "VmRSS"), 0) / 1024;
}

/** Peak resident set since each process started (VmHWM), summed over the tree, in MB. */
export function peakRssMb(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + statusKb(p, "VmHWM"), 0) / 1024;
}
