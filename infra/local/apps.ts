// The apps the local runner starts: building them and finding their entry points.
// Their environment is every target's (infra/app-environment.ts).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { SERVICE_NAMES, type ServiceName } from "../model.js";

const run = promisify(execFile);

export function appEntryPoint(root: string, service: ServiceName): string {
  return join(root, "apps", service, "dist", "main.js");
}

/** Builds every app (incremental: `tsc -b` does nothing when dist is current). */
export async function buildApps(root: string, services: readonly ServiceName[] = SERVICE_NAMES): Promise<void> {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(process.execPath, [tsc, "-b", ...services.map((s) => join(root, "apps", s))], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const out = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`building the apps failed:\n${out.stdout ?? ""}${out.stderr ?? out.message}`, { cause: err });
  }
}

export function missingEntryPoints(root: string, services: readonly ServiceName[] = SERVICE_NAMES): string[] {
  return services.map((s) => appEntryPoint(root, s)).filter((p) => !existsSync(p));
}
