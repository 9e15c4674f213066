// Real Envoy for tests: validate a rendered config with the binary, or start one from it and
// stop it. Several Envoys run at once on one machine, so each gets a dynamic base id and
// the addresses it binds (its own 127.0.x.y from the addressing) are checked free first.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { workloadIdentityFiles } from "../../envoy-templates/index.js";
import { CONTAINER_IDENTITY_DIR } from "../../infra/addressing.js";
import { writeIdentityDir } from "../../infra/local/swapped-dir.js";
import { EDGE_PROXY, buildMeshModel } from "../../infra/model.js";
import { generatedCa } from "../../infra/pki/index.js";
import { waitFor } from "./net.js";
import { type RunningProcess, requireBinary, startProcess } from "./process.js";

const run = promisify(execFile);

export function envoyBinary(): string {
  return requireBinary("envoy ($ENVOY_BIN)", process.env.ENVOY_BIN);
}

interface SocketAddress {
  address: string;
  port: number;
}

function socketOf(address: unknown): SocketAddress | undefined {
  const socket = (address as { socket_address?: { address?: string; port_value?: number } } | undefined)?.socket_address;
  return socket?.address !== undefined && socket.port_value !== undefined ? { address: socket.address, port: socket.port_value } : undefined;
}

/** The admin address and every listener address of a rendered config. */
export function boundAddresses(configYaml: string): { admin: SocketAddress; listeners: SocketAddress[] } {
  const config = parse(configYaml) as { admin?: { address?: unknown }; static_resources?: { listeners?: Array<{ address?: unknown }> } };
  const admin = socketOf(config.admin?.address);
  if (!admin) throw new Error("config has no admin socket address");
  const listeners = (config.static_resources?.listeners ?? []).map((l) => socketOf(l.address)).filter((s) => s !== undefined);
  return { admin, listeners };
}

async function assertFree({ address, port }: SocketAddress): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", (err) => reject(new Error(`${address}:${port} is not free for Envoy: ${err.message}`)));
    server.listen(port, address, () => server.close(() => resolve()));
  });
}

export interface ValidationResult {
  readonly ok: boolean;
  readonly output: string;
}

/**
 * A container's config names its identity directory by its path in the container: Envoy
 * reads the SDS files there at load, so validation gets a real identity directory (a
 * throwaway CA's certificates for the edge, its public one included) in its place.
 */
function withIdentityDir(configYaml: string, dir: string): string {
  if (!configYaml.includes(CONTAINER_IDENTITY_DIR)) return configYaml;
  const identity = join(dir, "identity");
  const ca = generatedCa(randomBytes(32).toString("base64"), new Date());
  writeIdentityDir(identity, workloadIdentityFiles(buildMeshModel(), ca, EDGE_PROXY, identity, 24, new Date()));
  return configYaml.replaceAll(CONTAINER_IDENTITY_DIR, identity);
}

/** `envoy --mode validate` on a config; resolves with its verdict and everything it printed. */
export async function validateWithEnvoy(configYaml: string): Promise<ValidationResult> {
  const dir = await mkdtemp(join(tmpdir(), "envoy-validate-"));
  try {
    const file = join(dir, "envoy.yaml");
    await writeFile(file, withIdentityDir(configYaml, dir));
    try {
      const { stdout, stderr } = await run(envoyBinary(), ["--mode", "validate", "-c", file, "--disable-hot-restart", "-l", "warning"], { timeout: 30_000 });
      return { ok: true, output: stdout + stderr };
    } catch (err) {
      const failed = err as { stdout?: string; stderr?: string; message: string };
      return { ok: false, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` || failed.message };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface RunningEnvoy {
  /** http://<admin address>:<port> */
  readonly adminUrl: string;
  readonly process: RunningProcess;
  stop(): Promise<void>;
}

export interface StartEnvoyOptions {
  /** Envoy log level (default warning; the access log goes to stdout regardless). */
  readonly logLevel?: string;
  readonly readyTimeoutMs?: number;
  /** How often Envoy writes its buffered access log lines out (Envoy's default: every 10 s, or at 64 KiB). */
  readonly fileFlushIntervalMs?: number;
}

/** Starts Envoy on a rendered config and resolves once admin /ready answers LIVE. */
export async function startEnvoy(configYaml: string, options: StartEnvoyOptions = {}): Promise<RunningEnvoy> {
  const binary = envoyBinary();
  const { admin, listeners } = boundAddresses(configYaml);
  for (const socket of [admin, ...listeners]) await assertFree(socket);
  const dir = await mkdtemp(join(tmpdir(), "envoy-"));
  const file = join(dir, "envoy.yaml");
  await writeFile(file, configYaml);
  const flush = options.fileFlushIntervalMs !== undefined ? ["--file-flush-interval-msec", String(options.fileFlushIntervalMs)] : [];
  const child = startProcess(binary, ["-c", file, "--use-dynamic-base-id", "-l", options.logLevel ?? "warning", ...flush]);
  const adminUrl = `http://${admin.address}:${admin.port}`;
  const stop = async () => {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  // Fail at once if Envoy exits (a bad config, a port taken meanwhile) instead of polling on.
  const exited = new Promise<never>((_, reject) => {
    child.child.once("exit", (code, signal) => reject(new Error(`Envoy exited (${signal ?? code}) before it was ready`)));
  });
  exited.catch(() => undefined);
  try {
    const ready = waitFor(
      `Envoy admin ${adminUrl}/ready`,
      async () => {
        const res = await fetch(`${adminUrl}/ready`, { signal: AbortSignal.timeout(1000) });
        return (await res.text()).trim() === "LIVE";
      },
      options.readyTimeoutMs ?? 30_000,
    );
    await Promise.race([ready, exited]);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- envoy output ---\n${child.output()}`, { cause: err });
  }
  return { adminUrl, process: child, stop };
}
