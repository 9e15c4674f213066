// CPU and memory of running processes from /proc (Linux): CPU time from the
// utime+stime fields of /proc/<pid>/stat, resident memory from VmRSS in
// /proc/<pid>/status, sampled while a measurement runs.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** utime + stime in clock ticks. The command name (field 2) may hold spaces and parentheses, so parse after the last ")". */
export function parseStatCpuTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error("unexpected /proc/<pid>/stat format");
  return utime + stime;
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

function readCpuSeconds(pid: number): number {
  return parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, "utf8")) / clockTicksPerSecond();
}

function readRssBytes(pid: number): number | undefined {
  try {
    return parseStatusRssBytes(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return undefined;
  }
}

export interface ProcessUsage {
  /** CPU seconds (user + system) used during the window. */
  readonly cpuSeconds: number;
  /** Highest RSS seen by the sampler during the window. */
  readonly maxRssBytes: number | undefined;
}

/** Samples named processes over one window: CPU delta from start to stop, RSS every `intervalMs`. */
export class ProcessSampler {
  private readonly startCpu = new Map<string, number>();
  private readonly maxRss = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pids: Readonly<Record<string, number>>,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    for (const [name, pid] of Object.entries(this.pids)) this.startCpu.set(name, readCpuSeconds(pid));
    this.sampleRss();
    this.timer = setInterval(() => this.sampleRss(), this.intervalMs);
  }

  stop(): Record<string, ProcessUsage> {
    clearInterval(this.timer);
    this.sampleRss();
    const usage: Record<string, ProcessUsage> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      usage[name] = { cpuSeconds: readCpuSeconds(pid) - (this.startCpu.get(name) ?? 0), maxRssBytes: this.maxRss.get(name) };
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
