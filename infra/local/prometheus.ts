// Prometheus for one run: the generated configuration (with file_sd targets the
// runner rewrites on scaling), a throwaway TSDB, bound to the run's Prometheus address.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Addressing } from "../addressing.js";
import type { MeshModel } from "../model.js";
import { PORTS } from "../model.js";
import { PROMETHEUS_CONFIG_FILE, PROMETHEUS_DIR, renderPrometheusArtifacts } from "../observability/prometheus.js";
import { httpOk, waitUntil } from "./readiness.js";
import type { Supervisor } from "./supervisor.js";

export class LocalPrometheus {
  private readonly configDir: string;

  constructor(
    private readonly binary: string,
    private readonly stateDir: string,
    readonly address: string,
  ) {
    this.configDir = join(stateDir, PROMETHEUS_DIR);
  }

  readonly port = PORTS.prometheus;

  get url(): string {
    return `http://${this.address}:${this.port}`;
  }

  /**
   * Writes the generated files (atomically: Prometheus watches the file_sd
   * files); a change of replicas only changes those, which Prometheus picks up
   * by itself.
   */
  writeConfig(model: MeshModel, addressing: Addressing): void {
    const prefix = `${PROMETHEUS_DIR}/`;
    for (const [path, text] of Object.entries(renderPrometheusArtifacts(model, addressing))) {
      const file = join(this.configDir, path.startsWith(prefix) ? path.slice(prefix.length) : path);
      mkdirSync(dirname(file), { recursive: true });
      const temp = `${file}.tmp`;
      writeFileSync(temp, text);
      renameSync(temp, file);
    }
  }

  async start(supervisor: Supervisor): Promise<void> {
    const prometheus = supervisor.start({
      name: "prometheus",
      command: this.binary,
      args: [
        `--config.file=${join(this.configDir, PROMETHEUS_CONFIG_FILE)}`,
        `--storage.tsdb.path=${join(this.stateDir, "prometheus-data")}`,
        `--web.listen-address=${this.address}:${this.port}`,
        "--web.enable-lifecycle",
      ],
      cwd: this.configDir,
    });
    await waitUntil(`prometheus on ${this.address}:${this.port}`, () => httpOk(`${this.url}/-/ready`), { process: prometheus, timeoutMs: 60_000, intervalMs: 200 });
  }
}
