// The one YAML serialiser of every generated file: no line folding and no
// anchors, so the same input always gives byte-identical text (and Pulumi sees
// no spurious diffs). Envoy configs also sort their keys; Prometheus and Grafana
// files keep the order they are written in, which reads as their docs do.
import { stringify } from "yaml";

export function toYaml(doc: unknown, options: { sortKeys?: boolean } = {}): string {
  return stringify(doc, { sortMapEntries: options.sortKeys ?? false, lineWidth: 0, aliasDuplicateObjects: false });
}
