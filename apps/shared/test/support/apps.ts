// Built apps for tests: the same `node apps/<name>/dist/main.js` the images run,
// configured by environment variables only.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort, httpAnswers, waitFor } from "../../../../test/support/net.js";
import { startProcess, type RunningProcess } from "../../../../test/support/process.js";
import type { BaseConfig } from "../../src/env.js";

const run = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** Builds every app (tsc -b is incremental: near-instant when nothing changed). */
export async function buildApps(): Promise<void> {
  await run("npx", ["tsc", "-b", "apps/tsconfig.json"], { cwd: REPO_ROOT, timeout: 240_000 });
}

export function entryPoint(app: string): string {
  return `${REPO_ROOT}apps/${app}/dist/main.js`;
}

export interface StartedApp {
  readonly process: RunningProcess;
  readonly baseUrl: string;
}

/** Starts a built app with exactly `env` (plus PATH) and waits for /healthz. */
export async function startBuiltApp(app: string, env: Record<string, string>): Promise<StartedApp> {
  const port = await freePort();
  const proc = startProcess(process.execPath, [entryPoint(app)], {
    env: { PATH: process.env.PATH, LOG_LEVEL: "warn", ...env, PORT: String(port), HOST: "127.0.0.1" },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${app} /healthz`, async () => {
      if (proc.child.exitCode !== null) throw new Error(`${app} exited: ${proc.output()}`);
      return httpAnswers(`${baseUrl}/healthz`);
    }, 60_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { process: proc, baseUrl };
}

/** Settings for apps built in-process by tests: quiet logs, no tracing export. */
export function testBaseConfig(serviceName: string): BaseConfig {
  return { serviceName, host: "127.0.0.1", port: 0, logLevel: "silent", zipkinUrl: undefined, shutdownTimeoutMs: 5000 };
}
