import { describe, expect, it } from "vitest";
import { expressionUses, labelValuesUses } from "./promql.js";
import { unmetUses, type MetricCatalogue } from "./metric-uses.js";

describe("expressionUses", () => {
  it("finds every selector's metric and matcher labels, through functions and binary operators", () => {
    const uses = expressionUses('sum(rate(a_total{x="1",y=~"2|3"}[$__rate_interval])) / sum(rate(b_total{z!="4"}[5m]))');
    expect(uses.selectors).toEqual([
      { text: 'a_total{x="1",y=~"2|3"}', metric: "a_total", labels: ["x", "y"] },
      { text: 'b_total{z!="4"}', metric: "b_total", labels: ["z"] },
    ]);
  });

  it("ties by-labels to the metrics of the aggregated expression only", () => {
    const uses = expressionUses("histogram_quantile(0.99, sum by (le, route) (rate(h_bucket[5m]))) > on() group_left max(other)");
    expect(uses.groupings).toEqual([
      { label: "le", metrics: ["h_bucket"] },
      { label: "route", metrics: ["h_bucket"] },
    ]);
  });

  it("ties on()-labels to both sides of a binary expression", () => {
    const uses = expressionUses("a * on (service) group_left b");
    expect(uses.groupings).toEqual([{ label: "service", metrics: ["a", "b"] }]);
  });

  it("reads bare selectors, comparisons and `or vector()`", () => {
    expect(expressionUses("count(up == 0) or vector(0)").selectors).toEqual([{ text: "up", metric: "up", labels: [] }]);
  });

  it("rejects syntax errors, unknown Grafana variables and expressions without a selector", () => {
    expect(() => expressionUses("sum(rate(x[5m])")).toThrow(/syntax error/);
    expect(() => expressionUses("rate(x[$__nonsense])")).toThrow(/unknown Grafana variable/);
    expect(() => expressionUses("vector(1)")).toThrow(/no vector selector/);
  });

  it("reads Grafana label_values() variable queries", () => {
    expect(labelValuesUses('label_values(up{job="app"}, service)')).toEqual({
      selectors: [{ text: 'up{job="app"}', metric: "up", labels: ["job"] }],
      groupings: [{ label: "service", metrics: ["up"] }],
    });
  });
});

describe("unmetUses", () => {
  const catalogue: MetricCatalogue = new Map([
    ["h_bucket", new Set(["le", "route"])],
    ["c_total", new Set(["outcome"])],
  ]);
  const check = (expr: string) => unmetUses([{ where: "q", expr, uses: expressionUses(expr) }], catalogue);

  it("accepts exported metrics and labels, and the labels Prometheus adds at scrape time", () => {
    expect(check('sum by (le, service) (rate(h_bucket{route="/x",job="app",replica="0"}[5m]))')).toEqual([]);
  });

  it("names missing metrics, matcher labels and grouping labels", () => {
    expect(check("rate(missing_total[5m])")).toEqual(["q: metric missing_total is not exported"]);
    expect(check('c_total{status="x"}')).toEqual(["q: c_total has no label status"]);
    expect(check("sum by (command) (c_total)")).toEqual(["q: none of c_total has label command"]);
  });
});
