// Child processes for tests: started with captured output, always stopped (as the
// local runner's supervisor stops its own: infra/local/supervisor.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { stopChild } from "../../infra/local/supervisor.js";

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr), for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process exited. */
  stop(graceMs?: number): Promise<void>;
}

/** `ownGroup`: a process group of its own, led by the child, as a shell gives a command it runs (signal it with `process.kill(-pid)`). */
export function startProcess(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; ownGroup?: boolean } = {}): RunningProcess {
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"], detached: options.ownGroup ?? false });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-64_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("error", (err) => keep(Buffer.from(`\n[spawn error] ${err.message}\n`)));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return {
    child,
    output: () => output,
    async stop(graceMs = 5000) {
      await stopChild(child, exited, "SIGTERM", graceMs);
    },
  };
}

/** Fails with the setup script's name when a required binary is missing. */
export function requireBinary(name: string, path: string | undefined): string {
  if (!path) throw new Error(`${name} not found: run "bash scripts/setup.sh" and "source scripts/env.sh" first`);
  return path;
}
