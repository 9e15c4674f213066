// Side-by-side measurement: the variants of one comparison run in short
// alternating rounds (A,B then B,A ...), each round sampled for CPU and memory of
// the processes that matter, so machine drift affects every variant alike.
import { ProcessSampler, type ProcessUsage } from "./proc.js";
import { roundOrder } from "./stats.js";

export interface Variant<T> {
  readonly name: string;
  readonly run: () => Promise<T>;
}

export interface VariantRounds<T> {
  results: T[];
  /** Summed over the variant's rounds, per process name. */
  usage: Record<string, { cpuSeconds: number; maxRssBytes: number | undefined }>;
  /** Each round's own usage, in round order (for a spread over rounds). */
  roundUsage: Array<Record<string, ProcessUsage>>;
  wallSeconds: number;
}

export async function interleave<T>(variants: readonly Variant<T>[], rounds: number, pids: Readonly<Record<string, number>>): Promise<Record<string, VariantRounds<T>>> {
  const out: Record<string, VariantRounds<T>> = Object.fromEntries(variants.map((v) => [v.name, { results: [], usage: {}, roundUsage: [], wallSeconds: 0 }]));
  for (let r = 0; r < rounds; r++) {
    for (const variant of roundOrder(variants, r)) {
      const sampler = new ProcessSampler(pids);
      const started = performance.now();
      sampler.start();
      let usage: Record<string, ProcessUsage>;
      try {
        out[variant.name]!.results.push(await variant.run());
      } finally {
        usage = sampler.stop();
      }
      const slot = out[variant.name]!;
      slot.wallSeconds += (performance.now() - started) / 1000;
      slot.roundUsage.push(usage);
      for (const [name, u] of Object.entries(usage)) {
        const prev = slot.usage[name];
        slot.usage[name] = {
          cpuSeconds: (prev?.cpuSeconds ?? 0) + u.cpuSeconds,
          maxRssBytes: Math.max(prev?.maxRssBytes ?? 0, u.maxRssBytes ?? 0) || undefined,
        };
      }
    }
  }
  return out;
}
