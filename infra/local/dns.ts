// Service discovery for the local runner: a real DNS server (dnsmasq) answering
// `<service>.mesh.internal` with one A record per replica. Records live in one
// hosts file per service, which dnsmasq re-reads on change (inotify), so scaling
// needs no restart of dnsmasq or of any Envoy.
import { Resolver } from "node:dns/promises";
import { chmodSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceName } from "../model.js";
import { type Release, releaseName } from "../traffic.js";
import { LOCAL_DNS_ZONE, localServiceHost } from "./addressing.js";
import { waitUntil } from "./readiness.js";
import type { ManagedProcess, Supervisor } from "./supervisor.js";

/** Seconds a record may be cached; Envoy re-resolves at its own (short) refresh rate too. */
const RECORD_TTL_SECONDS = 1;

export class ServiceDns {
  private readonly hostsDir: string;
  /** Records are written here first and renamed into place, so dnsmasq never reads half a file. */
  private readonly scratchDir: string;
  private readonly resolver = new Resolver({ timeout: 1000, tries: 1 });
  private process: ManagedProcess | undefined;

  constructor(
    private readonly dnsmasq: string,
    stateDir: string,
    readonly address: string,
    readonly port: number,
  ) {
    this.hostsDir = join(stateDir, "dns-hosts");
    this.scratchDir = join(stateDir, "dns-scratch");
    mkdirSync(this.hostsDir, { recursive: true });
    mkdirSync(this.scratchDir, { recursive: true });
    // dnsmasq drops privileges to "nobody" and must still read the records.
    chmodSync(this.hostsDir, 0o755);
    this.resolver.setServers([`${address}:${port}`]);
  }

  async start(supervisor: Supervisor): Promise<void> {
    this.process = supervisor.start({
      name: "dnsmasq",
      command: this.dnsmasq,
      args: [
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        `--listen-address=${this.address}`,
        `--port=${this.port}`,
        "--bind-interfaces",
        // Answer names of the zone from the records only; never forward them.
        `--local=/${LOCAL_DNS_ZONE}/`,
        `--hostsdir=${this.hostsDir}`,
        `--local-ttl=${RECORD_TTL_SECONDS}`,
        "--log-facility=-",
        "--pid-file=",
      ],
    });
    await waitUntil(`dnsmasq on ${this.address}:${this.port}`, async () => {
      try {
        await this.resolver.resolve4(`ready-check.${LOCAL_DNS_ZONE}`);
        return true;
      } catch (err) {
        // NXDOMAIN is an answer: the server is up.
        return (err as NodeJS.ErrnoException).code === "ENOTFOUND";
      }
    }, { process: this.process, timeoutMs: 15_000 });
  }

  /** Replaces the records of a release of a service, atomically, and waits until the server answers with them. */
  async setRecords(service: ServiceName, addresses: readonly string[], release: Release = "stable"): Promise<void> {
    const host = localServiceHost(service, release);
    const file = join(this.hostsDir, releaseName(service, release));
    const temp = join(this.scratchDir, releaseName(service, release));
    writeFileSync(temp, addresses.map((a) => `${a} ${host}\n`).join(""), { mode: 0o644 });
    renameSync(temp, file);
    const want = [...addresses].sort().join(",");
    await waitUntil(`DNS records of ${host} to be ${want || "empty"}`, async () => (await this.lookup(service, release)).join(",") === want, {
      process: this.process,
      timeoutMs: 10_000,
    });
  }

  /** The addresses the server answers for a release of a service right now, sorted. */
  async lookup(service: ServiceName, release: Release = "stable"): Promise<string[]> {
    try {
      return (await this.resolver.resolve4(localServiceHost(service, release))).sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTFOUND" || code === "ENODATA") return [];
      throw err;
    }
  }
}
