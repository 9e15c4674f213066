// Process supervision for the local runner: every child is started through
// `setpriv --pdeathsig SIGKILL`, so it dies with the runner even when the runner
// itself is killed, and in a process group of its own, so a terminal's Ctrl-C
// (SIGINT to the runner's whole group) reaches only the runner, which then stops
// the children in order instead of all of them quitting at once under it; output
// goes to one log file per process; `stopAll` stops everything in reverse start
// order, and exits nobody asked for are recorded.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface ProcessSpec {
  /** Unique name, also the log file's name. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Run as this user (needed for Postgres, which refuses to run as root). */
  readonly user?: string;
  /** Signal for a graceful stop (Postgres: SIGINT, its "fast" shutdown). */
  readonly stopSignal?: NodeJS.Signals;
  /** How long a graceful stop may take before SIGKILL. */
  readonly graceMs?: number;
}

/**
 * Asks `child` to stop with `signal`, SIGKILLs it after `graceMs`, and resolves once
 * `exited` does; nothing to do for a child that already exited.
 */
export async function stopChild<T>(child: ChildProcess, exited: Promise<T>, signal: NodeJS.Signals, graceMs: number): Promise<T> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
  return exited;
}

export interface ProcessExit {
  readonly name: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  readonly exited: Promise<ProcessExit>;
  private stopping = false;
  private spawnFailed = false;

  constructor(
    readonly spec: ProcessSpec,
    readonly logFile: string,
    private readonly child: ChildProcess,
    onUnexpectedExit: (exit: ProcessExit) => void,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        const exit = { name: spec.name, code, signal };
        if (!this.stopping) onUnexpectedExit(exit);
        resolve(exit);
      });
      // A process that could not be spawned emits no "exit".
      child.once("error", (err) => {
        if (child.pid !== undefined) return;
        this.spawnFailed = true;
        const exit = { name: `${spec.name} (could not start: ${err.message})`, code: null, signal: null };
        onUnexpectedExit(exit);
        resolve(exit);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.spec.name} has no pid (it failed to spawn)`);
    return this.child.pid;
  }

  get running(): boolean {
    return !this.spawnFailed && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The end of the process's log, for error messages. */
  logTail(chars = 4000): string {
    try {
      return readFileSync(this.logFile, "utf8").slice(-chars);
    } catch {
      return "";
    }
  }

  /** Sends `signal` without marking the exit as expected (fault injection). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Graceful stop, then SIGKILL after the grace period; resolves once it exited. */
  async stop(): Promise<ProcessExit> {
    this.stopping = true;
    if (!this.running) return this.exited;
    return stopChild(this.child, this.exited, this.spec.stopSignal ?? "SIGTERM", this.spec.graceMs ?? 10_000);
  }

  /** SIGKILL, as a crash would; the exit still counts as expected. */
  async kill(): Promise<ProcessExit> {
    this.stopping = true;
    this.signal("SIGKILL");
    return this.exited;
  }
}

export class Supervisor {
  private readonly processes: ManagedProcess[] = [];
  private readonly unexpected: ProcessExit[] = [];

  constructor(
    private readonly logDir: string,
    private readonly onUnexpectedExit: (exit: ProcessExit) => void = () => {},
  ) {}

  start(spec: ProcessSpec): ManagedProcess {
    if (this.processes.some((p) => p.spec.name === spec.name && p.running)) {
      throw new Error(`process "${spec.name}" is already running`);
    }
    const logFile = join(this.logDir, `${spec.name}.log`);
    const fd = openSync(logFile, "a");
    const privileges = spec.user ? ["--reuid", spec.user, "--regid", spec.user, "--init-groups"] : [];
    let child: ChildProcess;
    try {
      child = spawn("setpriv", ["--pdeathsig", "SIGKILL", ...privileges, spec.command, ...spec.args], {
        env: spec.env ?? process.env,
        cwd: spec.cwd,
        stdio: ["ignore", fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    const managed = new ManagedProcess(spec, logFile, child, (exit) => {
      this.unexpected.push(exit);
      this.onUnexpectedExit(exit);
    });
    // Replace a stopped process of the same name (a restarted replica or data store).
    const index = this.processes.findIndex((p) => p.spec.name === spec.name);
    if (index >= 0) this.processes.splice(index, 1);
    this.processes.push(managed);
    return managed;
  }

  get(name: string): ManagedProcess {
    const managed = this.processes.find((p) => p.spec.name === name);
    if (!managed) throw new Error(`no process named "${name}"`);
    return managed;
  }

  list(): readonly ManagedProcess[] {
    return [...this.processes];
  }

  /** Exits that nobody asked for (crashes), since start. */
  unexpectedExits(): readonly ProcessExit[] {
    return [...this.unexpected];
  }

  /** Stops every process, last started first. */
  async stopAll(): Promise<void> {
    for (const managed of [...this.processes].reverse()) await managed.stop();
  }
}
