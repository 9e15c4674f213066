// CPU and memory of running processes from /proc (Linux): CPU time from the
// utime/stime fields of /proc/<pid>/stat, resident memory from VmRSS in
// /proc/<pid>/status, sampled while a measurement runs.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface StatFields {
  readonly ppid: number;
  /** utime + stime of the process itself. */
  readonly ownTicks: number;
  /** cutime + cstime: what its children used before it reaped them. */
  readonly reapedChildrenTicks: number;
}

/** The fields of /proc/<pid>/stat the sampler needs. The command name (field 2) may hold spaces and parentheses, so parse after the last ")". */
export function parseStat(stat: string): StatFields {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state): ppid is field 4, utime/stime 14/15, cutime/cstime 16/17.
  const [ppid, utime, stime, cutime, cstime] = [rest[1], rest[11], rest[12], rest[13], rest[14]].map(Number) as [number, number, number, number, number];
  if (![ppid, utime, stime, cutime, cstime].every(Number.isFinite)) throw new Error("unexpected /proc/<pid>/stat format");
  return { ppid, ownTicks: utime + stime, reapedChildrenTicks: cutime + cstime };
}

/**
 * CPU ticks of a process tree: every live process of it with what its reaped
 * children used. Postgres serves each connection from a backend process forked by
 * the postmaster, so the postmaster alone shows almost none of the work.
 */
export function treeCpuTicks(root: number, stats: ReadonlyMap<number, StatFields>): number {
  let ticks = 0;
  const pending = [root];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    const s = stats.get(pid);
    if (!s) continue;
    ticks += s.ownTicks + s.reapedChildrenTicks;
    for (const [child, cs] of stats) if (cs.ppid === pid) pending.push(child);
  }
  return ticks;
}

/** Every process's stat fields, read once per sample (processes that exit meanwhile are skipped). */
function readAllStats(): Map<number, StatFields> {
  const stats = new Map<number, StatFields>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      stats.set(Number(entry), parseStat(readFileSync(`/proc/${entry}/stat`, "utf8")));
    } catch {
      // exited between the listing and the read
    }
  }
  return stats;
}

/** The pid of a running process whose command line contains every fragment, if any (the machine's RabbitMQ node, say). */
export function findProcess(fragments: readonly string[]): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      if (fragments.every((f) => cmdline.includes(f))) return Number(entry);
    } catch {
      // exited between the listing and the read
    }
  }
  return undefined;
}

/** VmRSS in bytes from /proc/<pid>/status text; undefined when absent (a zombie). */
export function parseStatusRssBytes(status: string): number | undefined {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

let clockTicks: number | undefined;
/** Clock ticks per second (getconf CLK_TCK; 100 on every common Linux). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds of each named process with its descendants (see treeCpuTicks). */
function readCpuSeconds(pids: Readonly<Record<string, number>>): Map<string, number> {
  const stats = readAllStats();
  return new Map(
    Object.entries(pids).map(([name, pid]) => {
      if (!stats.has(pid)) throw new Error(`${name} (pid ${pid}) is not running`);
      return [name, treeCpuTicks(pid, stats) / clockTicksPerSecond()];
    }),
  );
}

function readRssBytes(pid: number): number | undefined {
  try {
    return parseStatusRssBytes(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return undefined;
  }
}

export interface ProcessUsage {
  /** CPU seconds (user + system) used during the window by the process and its descendants. */
  readonly cpuSeconds: number;
  /** Highest RSS seen by the sampler during the window. */
  readonly maxRssBytes: number | undefined;
}

/** Samples named processes over one window: CPU delta from start to stop, RSS every `intervalMs`. */
export class ProcessSampler {
  private startCpu = new Map<string, number>();
  private readonly maxRss = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pids: Readonly<Record<string, number>>,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.startCpu = readCpuSeconds(this.pids);
    this.sampleRss();
    this.timer = setInterval(() => this.sampleRss(), this.intervalMs);
  }

  stop(): Record<string, ProcessUsage> {
    clearInterval(this.timer);
    this.sampleRss();
    const stopCpu = readCpuSeconds(this.pids);
    const usage: Record<string, ProcessUsage> = {};
    for (const name of Object.keys(this.pids)) {
      usage[name] = { cpuSeconds: (stopCpu.get(name) ?? 0) - (this.startCpu.get(name) ?? 0), maxRssBytes: this.maxRss.get(name) };
    }
    return usage;
  }

  private sampleRss(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      const rss = readRssBytes(pid);
      if (rss !== undefined) this.maxRss.set(name, Math.max(rss, this.maxRss.get(name) ?? 0));
    }
  }
}
