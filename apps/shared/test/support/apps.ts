// Built apps for tests: the same `node apps/<name>/dist/main.js` the images run,
// configured by environment variables only.
import { fileURLToPath } from "node:url";
import { appEntryPoint, buildApps as buildEveryApp } from "../../../../infra/local/apps.js";
import type { ServiceName } from "../../../../infra/model.js";
import { freePort, httpAnswers, waitFor } from "../../../../test/support/net.js";
import { startProcess, type RunningProcess } from "../../../../test/support/process.js";
import type { BaseConfig } from "../../src/env.js";

export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** Builds every app as the local runner does (tsc -b is incremental: near-instant when nothing changed). */
export async function buildApps(): Promise<void> {
  await buildEveryApp(REPO_ROOT);
}

export function entryPoint(app: ServiceName): string {
  return appEntryPoint(REPO_ROOT, app);
}

export interface StartedApp {
  readonly process: RunningProcess;
  readonly baseUrl: string;
}

/** Starts a built app with exactly `env` (plus PATH) and waits for /healthz. */
export async function startBuiltApp(app: ServiceName, env: Record<string, string>): Promise<StartedApp> {
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
