// The Docker/Kubernetes scrape jobs turn each DNS answer into service, role and
// replica labels by relabeling. No test may query a real DNS server here, so a
// real Prometheus runs the generated relabel rules on targets that carry the
// `__meta_dns_name` dns_sd would give them (static targets may set meta
// labels); /api/v1/targets then shows the labels Prometheus really computed.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { kubernetesAddressing } from "../../infra/kubernetes/addressing.js";
import { buildMeshModel } from "../../infra/model.js";
import { PROMETHEUS_CONFIG_FILE, PROMETHEUS_DIR, prometheusConfig, renderPrometheusArtifacts } from "../../infra/observability/prometheus.js";
import type { ScrapeConfig } from "../../infra/observability/scrape.js";
import { freePort, waitFor } from "../support/net.js";
import { startProcess, type RunningProcess } from "../support/process.js";
import { writeArtifacts } from "./support.js";

const model = buildMeshModel({ catalog: 2 });
const addressing = kubernetesAddressing("mesh");
const work = mkdtempSync(join(tmpdir(), "mesh-relabel-"));
// Replicas "resolve" to addresses of a loopback block no other suite uses; nothing listens there.
const block = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
let prometheus: RunningProcess | undefined;
let url = "";

/** What dns_sd would hand the relabel rules: one target per A record, with the name queried. */
function asStaticTargets(job: ScrapeConfig, replicasOf: (host: string) => number, nextHost: () => number): ScrapeConfig {
  const [dns] = job.dns_sd_configs ?? [];
  if (!dns) throw new Error(`job ${job.job_name} has no dns_sd_configs`);
  return {
    job_name: job.job_name,
    metrics_path: job.metrics_path,
    relabel_configs: job.relabel_configs,
    static_configs: dns.names.map((name) => ({
      targets: Array.from({ length: replicasOf(name) }, () => `${block}.${nextHost()}:${dns.port}`),
      labels: { __meta_dns_name: name },
    })),
  };
}

beforeAll(async () => {
  const dir = join(work, PROMETHEUS_DIR);
  writeArtifacts(work, renderPrometheusArtifacts(model, addressing));
  const config = prometheusConfig(model, addressing) as { scrape_configs: ScrapeConfig[] };
  const replicasOf = (host: string) => model.services.find((s) => addressing.serviceHost(s.name, "stable") === host)?.replicas ?? 1;
  // Within a job, every replica gets its own address, like the pods' IPs in a real cluster.
  config.scrape_configs = config.scrape_configs
    .filter((job) => job.dns_sd_configs)
    .map((job) => {
      let host = 1;
      return asStaticTargets(job, replicasOf, () => host++);
    });
  writeFileSync(join(dir, PROMETHEUS_CONFIG_FILE), stringify(config));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  prometheus = startProcess("prometheus", [
    `--config.file=${join(dir, PROMETHEUS_CONFIG_FILE)}`,
    `--storage.tsdb.path=${join(work, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  const started = prometheus;
  await waitFor("Prometheus ready", async () => {
    if (started.output().includes("[spawn error]")) throw new Error('prometheus not found: run "bash scripts/setup.sh" first');
    if (started.child.exitCode !== null) throw new Error(`prometheus exited:\n${started.output()}`);
    return (await fetch(`${url}/-/ready`)).ok;
  });
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("DNS-discovered targets", () => {
  it("get service, role and replica (the resolved address) labels", async () => {
    const expectedTargets = 1 + 2 * model.services.reduce((n, s) => n + s.replicas, 0);
    let seen: string[] = [];
    // Discovery hands targets to the scrape manager shortly after start; wait for all of them.
    await waitFor(`${expectedTargets} active targets`, async () => {
      const res = await fetch(`${url}/api/v1/targets?state=active`);
      const { data } = (await res.json()) as { data: { activeTargets: Array<{ labels: Record<string, string> }> } };
      seen = data.activeTargets.map(({ labels }) => `${labels.job} ${labels.service} ${labels.role} ${labels.replica}`).sort();
      return seen.length === expectedTargets;
    });
    expect(seen).toEqual(
      [
        `envoy edge edge ${block}.1`,
        `envoy catalog sidecar ${block}.2`,
        `envoy catalog sidecar ${block}.3`,
        `envoy cart sidecar ${block}.4`,
        `envoy orders sidecar ${block}.5`,
        `envoy order-worker sidecar ${block}.6`,
        `app catalog app ${block}.1`,
        `app catalog app ${block}.2`,
        `app cart app ${block}.3`,
        `app orders app ${block}.4`,
        `app order-worker worker ${block}.5`,
      ].sort(),
    );
  });
});
