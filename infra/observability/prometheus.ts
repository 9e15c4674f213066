// Prometheus's configuration and alert rules, rendered from the mesh model.
// Paths are relative to prometheus.yml's directory, which Prometheus resolves
// rule_files and file_sd files against: a target delivers the whole
// `prometheus/` directory as one (e.g. /etc/prometheus).
import { toYaml } from "../yaml.js";
import type { Addressing } from "../addressing.js";
import type { MeshModel } from "../model.js";
import { meshAlertRules } from "./alerts.js";
import { LISTENER } from "../../envoy-templates/names.js";
import { renderLocalScrapeTargets, scrapeConfigs } from "./scrape.js";

export const PROMETHEUS_DIR = "prometheus";
export const PROMETHEUS_CONFIG_FILE = "prometheus.yml";
export const ALERT_RULES_FILE = "rules/mesh-alerts.yml";

/** How often everything is scraped and rules are evaluated. */
export const SCRAPE_INTERVAL = "15s";

export function prometheusConfig(model: MeshModel, addressing: Addressing): unknown {
  return {
    global: {
      scrape_interval: SCRAPE_INTERVAL,
      evaluation_interval: SCRAPE_INTERVAL,
      external_labels: { mesh: addressing.target },
    },
    rule_files: [ALERT_RULES_FILE],
    scrape_configs: scrapeConfigs(model, addressing),
  };
}

/** `prometheus/prometheus.yml`, `prometheus/rules/mesh-alerts.yml` and, for the local runner, its file_sd targets. */
export function renderPrometheusArtifacts(model: MeshModel, addressing: Addressing): Record<string, string> {
  const files: Record<string, string> = {
    [PROMETHEUS_CONFIG_FILE]: toYaml(prometheusConfig(model, addressing)),
    [ALERT_RULES_FILE]: toYaml({ groups: meshAlertRules(model, LISTENER.edgeHttp, LISTENER.ingress) }),
    ...(addressing.scrapeDiscovery.kind === "files" ? renderLocalScrapeTargets(model, addressing) : {}),
  };
  return Object.fromEntries(Object.entries(files).map(([path, text]) => [`${PROMETHEUS_DIR}/${path}`, text]));
}
