// Every PromQL a dashboard or alert runs, with where it comes from, and a
// check of what they use against what exporters really expose.
import type { Dashboard, Panel, RowPanel, VariableModel } from "@grafana/grafana-foundation-sdk/dashboard";
import { buildDashboards } from "../../dashboards/index.js";
import { LISTENER } from "../../envoy-templates/names.js";
import { meshAlertRules, type RuleGroup } from "../../infra/observability/alerts.js";
import type { MeshModel } from "../../infra/model.js";
import { expressionUses, labelValuesUses, type ExpressionUses } from "./promql.js";

export interface QueryUse {
  /** e.g. "dashboard envoy / panel Memory / A". */
  readonly where: string;
  readonly expr: string;
  readonly uses: ExpressionUses;
}

/** Labels Prometheus attaches at scrape time (scrape.ts) or that every series has. */
export const SCRAPE_TIME_LABELS = new Set(["service", "role", "replica", "job", "instance", "__name__"]);

function isRow(panel: Panel | RowPanel): panel is RowPanel {
  return panel.type === "row";
}

function panelsOf(dashboard: Dashboard): Panel[] {
  return (dashboard.panels ?? []).flatMap((p) => (isRow(p) ? ((p.panels ?? []) as Panel[]) : [p]));
}

function variableQuery(variable: VariableModel): string | undefined {
  const query = variable.query as string | { query?: string } | undefined;
  return typeof query === "string" ? query : query?.query;
}

export function dashboardQueries(name: string, dashboard: Dashboard): QueryUse[] {
  const uses: QueryUse[] = [];
  for (const panel of panelsOf(dashboard)) {
    for (const target of panel.targets ?? []) {
      const { expr, refId } = target as { expr?: string; refId?: string };
      if (!expr) throw new Error(`dashboard ${name} / panel ${panel.title}: a target without expr`);
      uses.push({ where: `dashboard ${name} / panel ${panel.title} / ${refId}`, expr, uses: expressionUses(expr) });
    }
  }
  for (const variable of dashboard.templating?.list ?? []) {
    const query = variableQuery(variable);
    if (query) uses.push({ where: `dashboard ${name} / variable ${variable.name}`, expr: query, uses: labelValuesUses(query) });
  }
  return uses;
}

/** The PromQL of a dashboard's panel, found by title. */
export function panelExprs(dashboard: Dashboard, title: string): string[] {
  const panel = panelsOf(dashboard).find((p) => p.title === title);
  if (!panel) throw new Error(`dashboard ${dashboard.title} has no panel "${title}"`);
  return (panel.targets ?? []).map((target) => {
    const { expr } = target as { expr?: string };
    if (!expr) throw new Error(`dashboard ${dashboard.title} / panel ${title}: a target without expr`);
    return expr;
  });
}

export function alertQueries(groups: RuleGroup[]): QueryUse[] {
  return groups.flatMap((g) =>
    g.rules.map((r) => ({ where: `alert ${r.alert}${r.labels.service ? ` (${r.labels.service})` : ""}`, expr: r.expr, uses: expressionUses(r.expr) })),
  );
}

/** The Grafana dashboard reads only Grafana's own /metrics, which nothing here can export. */
export const GRAFANA_UNCHECKED = "grafana";

/** Every query of the mesh's dashboards but Grafana's own (panels and variables). */
export function meshDashboardQueryUses(model: MeshModel): QueryUse[] {
  return Object.entries(buildDashboards(model))
    .filter(([name]) => name !== GRAFANA_UNCHECKED)
    .flatMap(([name, d]) => dashboardQueries(name, d));
}

export function meshAlertQueryUses(model: MeshModel): QueryUse[] {
  return alertQueries(meshAlertRules(model, LISTENER.edgeHttp, LISTENER.ingress));
}

/** Every query of the mesh's dashboards (but Grafana's own) and alert rules. */
export function meshQueryUses(model: MeshModel): QueryUse[] {
  return [...meshDashboardQueryUses(model), ...meshAlertQueryUses(model)];
}

/** Metric name → label names, as exporters expose them. */
export type MetricCatalogue = Map<string, Set<string>>;

export function mergeCatalogues(...catalogues: MetricCatalogue[]): MetricCatalogue {
  const merged: MetricCatalogue = new Map();
  for (const catalogue of catalogues) {
    for (const [metric, labels] of catalogue) {
      const into = merged.get(metric) ?? new Set<string>();
      for (const label of labels) into.add(label);
      merged.set(metric, into);
    }
  }
  return merged;
}

/** Problems: metrics nothing exports and labels the metric does not carry. */
export function unmetUses(queries: readonly QueryUse[], catalogue: MetricCatalogue): string[] {
  const problems: string[] = [];
  const has = (metric: string, label: string) => SCRAPE_TIME_LABELS.has(label) || (catalogue.get(metric)?.has(label) ?? false);
  for (const { where, uses } of queries) {
    for (const selector of uses.selectors) {
      if (!catalogue.has(selector.metric)) {
        problems.push(`${where}: metric ${selector.metric} is not exported`);
        continue;
      }
      for (const label of selector.labels) {
        if (!has(selector.metric, label)) problems.push(`${where}: ${selector.metric} has no label ${label}`);
      }
    }
    for (const { label, metrics } of uses.groupings) {
      if (!metrics.some((m) => has(m, label))) problems.push(`${where}: none of ${metrics.join(", ")} has label ${label}`);
    }
  }
  return problems;
}
