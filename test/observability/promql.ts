// What a PromQL expression asks of the metrics it reads: every vector
// selector's metric name and matcher label names, and the labels it groups or
// matches on. Parsed with Prometheus's own lezer grammar, so nothing is
// guessed from text; Grafana's template variables are substituted first.
import { parser } from "@prometheus-io/lezer-promql";
import type { SyntaxNode } from "@lezer/common";

export interface SelectorUse {
  /** The selector as written, matchers included (after Grafana's variables were substituted). */
  readonly text: string;
  readonly metric: string;
  /** Label names in the selector's matchers. */
  readonly labels: readonly string[];
}

export interface ExpressionUses {
  readonly selectors: readonly SelectorUse[];
  /**
   * Labels named by `by`, `without`, `on` or `ignoring`, each with the metrics
   * of the sub-expression it applies to: at least one of them must carry it.
   */
  readonly groupings: ReadonlyArray<{ readonly label: string; readonly metrics: readonly string[] }>;
}

/** Grafana's built-in interval variables, replaced by a duration PromQL accepts. */
const GRAFANA_INTERVALS: Record<string, string> = { $__rate_interval: "5m", $__interval: "1m", $__range: "1h" };

export function substituteGrafanaVariables(expr: string): string {
  return expr.replace(/\$__[a-z_]+/g, (name) => {
    const value = GRAFANA_INTERVALS[name];
    if (!value) throw new Error(`unknown Grafana variable ${name} in ${expr}`);
    return value;
  });
}

function text(expr: string, node: SyntaxNode): string {
  return expr.slice(node.from, node.to);
}

function children(node: SyntaxNode, name: string): SyntaxNode[] {
  const found: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) if (child.name === name) found.push(child);
  return found;
}

function selectorOf(expr: string, node: SyntaxNode): SelectorUse {
  const identifier = children(node, "Identifier")[0];
  if (!identifier) throw new Error(`selector without a metric name in ${expr}: ${text(expr, node)}`);
  const labels = children(node, "LabelMatchers").flatMap((matchers) =>
    [...children(matchers, "UnquotedLabelMatcher"), ...children(matchers, "QuotedLabelMatcher")].map((m) => {
      const name = children(m, "LabelName")[0];
      if (!name) throw new Error(`matcher without a label name in ${expr}: ${text(expr, m)}`);
      return text(expr, name);
    }),
  );
  return { text: text(expr, node), metric: text(expr, identifier), labels };
}

function selectorsUnder(expr: string, node: SyntaxNode): SelectorUse[] {
  const found: SelectorUse[] = [];
  const cursor = node.cursor();
  const stop = node.to;
  do {
    if (cursor.from >= stop) break;
    if (cursor.name === "VectorSelector") found.push(selectorOf(expr, cursor.node));
  } while (cursor.next());
  return found;
}

/** Parses `expr` (after substituting Grafana's variables); throws on any syntax error. */
export function expressionUses(rawExpr: string): ExpressionUses {
  const expr = substituteGrafanaVariables(rawExpr);
  const tree = parser.parse(expr);
  const selectors: SelectorUse[] = [];
  const groupings: Array<{ label: string; metrics: string[] }> = [];
  let error: string | undefined;
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        error ??= `syntax error at ${ref.from} in: ${expr}`;
        return false;
      }
      const node = ref.node;
      if (ref.name === "VectorSelector") selectors.push(selectorOf(expr, node));
      if (ref.name === "GroupingLabels") {
        // by/without sit in an AggregateExpr; on/ignoring in a BinaryExpr's matching clause.
        const owner = node.parent?.name === "AggregateModifier" ? node.parent.parent : node.parent?.parent;
        if (!owner) throw new Error(`grouping without an expression in ${expr}`);
        const metrics = [...new Set(selectorsUnder(expr, owner).map((s) => s.metric))];
        for (const label of children(node, "LabelName")) groupings.push({ label: text(expr, label), metrics });
      }
      return undefined;
    },
  });
  if (error) throw new Error(error);
  if (selectors.length === 0) throw new Error(`no vector selector in ${expr}`);
  return { selectors, groupings };
}

/** Grafana's `label_values(selector, label)` variable query, as a selector and the label it lists. */
export function labelValuesUses(query: string): ExpressionUses {
  const match = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(query.trim());
  if (!match) throw new Error(`not a label_values() query: ${query}`);
  const uses = expressionUses(match[1]!);
  const metrics = uses.selectors.map((s) => s.metric);
  return { selectors: uses.selectors, groupings: [...uses.groupings, { label: match[2]!, metrics }] };
}
