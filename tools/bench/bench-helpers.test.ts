// Unit tests of the benchmark's pure helpers (statistics, tables, /proc and admin
// stats parsing, the Envoy pairs' figures).
// No timing assertions: the benchmark itself is not part of the test suite.
import { describe, expect, it } from "vitest";
import { maxFigures, sumCounters } from "./envoy-pairs.js";
import type { VariantRounds } from "./interleave.js";
import type { HttpLoadResult } from "./load.js";
import { parseCpuModel, parseEnvoyVersion } from "./machine.js";
import { parseStat, parseStatusRssBytes, treeCpuTicks, type StatFields } from "./proc.js";
import { parseHeapGauges } from "./sections/memory.js";
import { difference, median, percentile, ratio, round, roundOrder, spread, summarize } from "./stats.js";
import { formatCell, renderMarkdownTable, renderTable } from "./table.js";

describe("stats", () => {
  it("takes nearest-rank percentiles", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 90)).toBe(90);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it("summarizes unsorted samples", () => {
    const s = summarize([5, 1, 3, 2, 4]);
    expect(s).toMatchObject({ count: 5, p50: 3, max: 5, mean: 3 });
  });

  it("gives null instead of Infinity or NaN ratios and differences", () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(Number.NaN, 1)).toBeNull();
    expect(difference(3, 1)).toBe(2);
    expect(difference(3, Number.NaN)).toBeNull();
    expect(round(null)).toBeNull();
    expect(round(1.23456, 2)).toBe(1.23);
  });

  it("takes medians of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it("alternates the order of variants between rounds", () => {
    expect(roundOrder(["a", "b", "c"], 0)).toEqual(["a", "b", "c"]);
    expect(roundOrder(["a", "b", "c"], 1)).toEqual(["c", "b", "a"]);
    expect(roundOrder(["a", "b"], 2)).toEqual(["a", "b"]);
  });
});

describe("tables", () => {
  it("aligns text left and numbers right, with a dash for missing figures", () => {
    const text = renderTable(["name", "req/s"], [["direct", 1234.5], ["mesh", null]]);
    expect(text.split("\n")).toEqual(["name      req/s", "------  -------", "direct  1234.50", "mesh          —"]);
  });

  it("formats cells", () => {
    expect(formatCell(3)).toBe("3");
    expect(formatCell(Number.POSITIVE_INFINITY)).toBe("—");
    expect(formatCell("x")).toBe("x");
    expect(formatCell(0.123, 1)).toBe("0.1");
  });

  it("renders Markdown with right-aligned numeric columns", () => {
    expect(renderMarkdownTable(["a", "b"], [["x", 1]])).toBe("| a | b |\n|---|---:|\n| x | 1 |");
  });
});

describe("/proc and machine parsing", () => {
  it("reads ppid, utime + stime and cutime + cstime after the command name, even one with spaces and parentheses", () => {
    const fields = ["S", "77", "1", "1", "0", "-1", "4194560", "100", "0", "0", "0", "250", "50", "7", "3", "20", "0", "1"];
    expect(parseStat(`1234 (envoy (main) x) ${fields.join(" ")}`)).toEqual({ ppid: 77, ownTicks: 300, reapedChildrenTicks: 10 });
  });

  it("counts a process tree's CPU: live descendants and what reaped children used, not its siblings", () => {
    const stat = (ppid: number, ownTicks: number, reapedChildrenTicks = 0): StatFields => ({ ppid, ownTicks, reapedChildrenTicks });
    const stats = new Map([
      [1, stat(0, 1000)],
      [10, stat(1, 5, 40)], // the postmaster: its exited backends' 40 ticks
      [11, stat(10, 30)], // a backend
      [12, stat(11, 2)], // a grandchild
      [20, stat(1, 500)], // not in the tree
    ]);
    expect(treeCpuTicks(10, stats)).toBe(77);
    expect(treeCpuTicks(99, stats)).toBe(0);
  });

  it("reads VmRSS in bytes", () => {
    expect(parseStatusRssBytes("Name:\tenvoy\nVmRSS:\t   68000 kB\nThreads:\t9\n")).toBe(68000 * 1024);
    expect(parseStatusRssBytes("Name:\tzombie\n")).toBeUndefined();
  });

  it("reads the CPU model and the Envoy version", () => {
    expect(parseCpuModel("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\n")).toBe("Intel(R) Xeon(R) Processor");
    expect(parseEnvoyVersion("envoy  version: 9e55/1.40.0/Clean/RELEASE/BoringSSL\n")).toBe("1.40.0");
  });
});

describe("spread over rounds", () => {
  it("gives the median and the range", () => {
    expect(spread([1.3, 1.1, 1.2, 1.6])).toEqual({ median: 1.25, min: 1.1, max: 1.6 });
    expect(spread([])).toEqual({ median: NaN, min: NaN, max: NaN });
  });
});

describe("app memory", () => {
  it("reads the V8 heap from an app's Prometheus text", () => {
    const text = ["# HELP nodejs_heap_size_total_bytes Process heap size from Node.js in bytes.", "nodejs_heap_size_total_bytes 73400320", "nodejs_heap_size_used_bytes 31457280.5", 'nodejs_heap_space_size_used_bytes{space="new"} 1'].join("\n");
    expect(parseHeapGauges(text)).toEqual({ totalBytes: 73400320, usedBytes: 31457280.5 });
    expect(parseHeapGauges("process_cpu_seconds_total 1")).toBeUndefined();
  });
});

describe("Envoy pairs", () => {
  it("sums the counters of an admin's /stats text", () => {
    expect(sumCounters("cluster.catalog.upstream_rq_total: 12\ncluster.catalog-canary.upstream_rq_total: 3\n")).toBe(15);
    expect(sumCounters("")).toBe(0);
  });

  /** A variant's rounds: `ok` requests a second, and each process's CPU seconds, the same in every round. */
  const variant = (ok: number, cpu: Record<string, number>, rounds = 2): VariantRounds<HttpLoadResult> => {
    const usage = Object.fromEntries(Object.entries(cpu).map(([name, s]) => [name, { cpuSeconds: s, maxRssBytes: undefined }]));
    return {
      results: Array.from({ length: rounds }, () => ({ requests: ok, ok, errors: 0, elapsedSeconds: 1, p50: 1, p90: 1, p99: 1 })),
      usage: Object.fromEntries(Object.entries(cpu).map(([name, s]) => [name, { cpuSeconds: s * rounds, maxRssBytes: undefined }])),
      roundUsage: Array.from({ length: rounds }, () => usage),
      wallSeconds: rounds,
    };
  };

  it("counts every Envoy behind the front one, and sets each pair against its floor", () => {
    const figures = maxFigures(
      { direct: variant(2000, {}), floor: variant(1000, { f1: 0.1, b1: 0.1 }), canary: variant(1000, { f2: 0.12, b2: 0.09, c2: 0.03 }) },
      [
        { name: "floor", floor: "floor", envoys: [{ name: "f1" }, { name: "b1" }] },
        { name: "canary", floor: "floor", envoys: [{ name: "f2" }, { name: "b2" }, { name: "c2" }] },
      ],
    );
    expect(figures.direct.throughput).toBe(2000);
    expect(figures.pairs.canary).toMatchObject({
      throughput: 1000,
      cpuUsPerRequest: { front: 120, back: 120, pair: 240 },
      versus: "floor",
      cpuPerRequestVsFloor: 1.2,
      cpuPerRequestVsFloorOverRounds: { median: 1.2, min: 1.2, max: 1.2, rounds: 2 },
      throughputVsDirect: 0.5,
    });
    expect(figures.pairs.floor?.cpuPerRequestVsFloor).toBe(1);
  });
});
