// The machine the figures were measured on, recorded beside them.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

export interface MachineDescription {
  readonly cpuModel: string;
  readonly logicalCpus: number;
  readonly memoryTotalGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly envoy: string;
  readonly loadAverageAtStart: readonly number[];
}

/** "model name" of the first CPU in /proc/cpuinfo text. */
export function parseCpuModel(cpuinfo: string): string {
  return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
}

/** The version from `envoy --version` output ("envoy  version: <sha>/1.36.2/Clean/RELEASE/BoringSSL"). */
export function parseEnvoyVersion(output: string): string {
  const match = /version:\s*\S*?\/(\d+\.\d+\.\d+)\//.exec(output);
  return match?.[1] ?? (output.trim() || "unknown");
}

export function describeMachine(envoyBinary: string): MachineDescription {
  let envoy = "unknown";
  try {
    envoy = parseEnvoyVersion(execFileSync(envoyBinary, ["--version"], { encoding: "utf8" }));
  } catch {
    // left as unknown; the run still records everything else
  }
  return {
    cpuModel: parseCpuModel(readFileSync("/proc/cpuinfo", "utf8")),
    logicalCpus: os.availableParallelism(),
    memoryTotalGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    envoy,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
