// Small builders shared by the dashboards: every query goes to the one
// provisioned Prometheus datasource (fixed uid), panels carry stable ids so
// the generated JSON does not churn, and rates use Grafana's $__rate_interval.
import { VizLegendOptionsBuilder, ReduceDataOptionsBuilder, LegendDisplayMode, LegendPlacement } from "@grafana/grafana-foundation-sdk/common";
import type { DataSourceRef } from "@grafana/grafana-foundation-sdk/common";
import { QueryVariableBuilder, VariableRefresh, VariableSort } from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanelBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";
import { CANARY_SUFFIX } from "../infra/traffic.js";
import { PROMETHEUS_DATASOURCE_UID } from "./datasources.js";

export const prometheusDatasource: DataSourceRef = { type: "prometheus", uid: PROMETHEUS_DATASOURCE_UID };

/** Rate window that follows the scrape interval Grafana knows from the datasource. */
export const RATE = "$__rate_interval";

export interface Query {
  readonly expr: string;
  /** Grafana legend template, e.g. "{{service}}". */
  readonly legend: string;
}

function targets(queries: readonly Query[]): DataqueryBuilder[] {
  return queries.map((q, i) =>
    new DataqueryBuilder()
      .refId(String.fromCharCode(65 + i))
      .expr(q.expr)
      .legendFormat(q.legend)
      .range(),
  );
}

/** Panel ids in build order, so every rebuild numbers panels the same way. */
export class PanelIds {
  private next = 1;
  take(): number {
    return this.next++;
  }
}

export interface PanelOptions {
  readonly unit: string;
  /** Grid width (of 24) and height. */
  readonly width?: number;
  readonly height?: number;
  readonly description?: string;
}

export function timeseries(ids: PanelIds, title: string, queries: readonly Query[], options: PanelOptions): TimeseriesPanelBuilder {
  const panel = new TimeseriesPanelBuilder()
    .id(ids.take())
    .title(title)
    .datasource(prometheusDatasource)
    .unit(options.unit)
    .span(options.width ?? 12)
    .height(options.height ?? 8)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom))
    .targets(targets(queries));
  return options.description ? panel.description(options.description) : panel;
}

export function stat(ids: PanelIds, title: string, queries: readonly Query[], options: PanelOptions): StatPanelBuilder {
  const panel = new StatPanelBuilder()
    .id(ids.take())
    .title(title)
    .datasource(prometheusDatasource)
    .unit(options.unit)
    .span(options.width ?? 6)
    .height(options.height ?? 4)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(["lastNotNull"]))
    .targets(targets(queries));
  return options.description ? panel.description(options.description) : panel;
}

/**
 * Matcher for a calling Envoy's clusters of `service` (a name, or `$service`), every
 * release at once: the stable release's cluster carries the service's name and a
 * canary's adds CANARY_SUFFIX (releaseName, infra/traffic.ts). Their `release` label tells them apart.
 */
export function serviceClusters(service: string): string {
  return `envoy_cluster_name=~"${service}|${service}${CANARY_SUFFIX}"`;
}

/** A variable whose values are a label's values on one series selector. */
export function labelVariable(name: string, label: string, selector: string, options: { multi: boolean }): QueryVariableBuilder {
  const query = `label_values(${selector}, ${label})`;
  return new QueryVariableBuilder(name)
    .label(name)
    .datasource(prometheusDatasource)
    .query({ query, refId: "PrometheusVariableQueryEditor-VariableQuery", qryType: 1 })
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(options.multi)
    .includeAll(options.multi);
}
