// The benchmark's command line: which sections run, for how long, at what load.
import { parseArgs } from "node:util";

export const SECTIONS = ["mesh", "hops", "dynamic", "services", "orders", "instrumentation", "memory"] as const;
export type Section = (typeof SECTIONS)[number];

export interface Options {
  out: string;
  durationS: number;
  rates: number[];
  rounds: number;
  concurrency: number;
  connections: number;
  drain: number;
  sections: Section[];
}

export function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`--${name} takes a positive whole number, got "${text}"`);
  return Number(text);
}

export function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      duration: { type: "string" },
      rates: { type: "string" },
      rounds: { type: "string" },
      concurrency: { type: "string" },
      connections: { type: "string" },
      drain: { type: "string" },
      sections: { type: "string" },
    },
    strict: true,
  });
  if (!values.out) throw new Error("--out <file.json> is required");
  const rates = (values.rates ?? "200,500,1000").split(",").map((r) => positiveInt("rates", r.trim(), 0));
  const sections = (values.sections ?? SECTIONS.join(",")).split(",").map((s) => s.trim());
  for (const s of sections) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--sections takes names from ${SECTIONS.join(", ")}, got "${s}"`);
  return {
    out: values.out,
    durationS: positiveInt("duration", values.duration, 10),
    rates,
    rounds: positiveInt("rounds", values.rounds, 4),
    concurrency: positiveInt("concurrency", values.concurrency, 10),
    connections: positiveInt("connections", values.connections, 32),
    drain: positiveInt("drain", values.drain, 500),
    sections: sections as Section[],
  };
}
