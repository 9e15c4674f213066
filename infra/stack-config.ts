// Reads the `mesh:*` stack settings, from the running Pulumi program or straight
// from a Pulumi.<stack>.yaml file (the offline renderer), into the same validator.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { CONFIG_NAMESPACE, parseStackSettings, type StackSettings } from "./config.js";

const PREFIX = `${CONFIG_NAMESPACE}:`;

function withoutPrefix(entries: Iterable<[string, unknown]>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    if (key.startsWith(PREFIX)) raw[key.slice(PREFIX.length)] = value;
  }
  return raw;
}

/** Settings of the stack being deployed (Pulumi hands over `mesh:config:key` = string). */
export function readStackSettings(): StackSettings {
  const entries = Object.entries(pulumi.runtime.allConfig()).map(
    ([key, value]): [string, unknown] => [key.replace(`${PREFIX}config:`, PREFIX), value],
  );
  return parseStackSettings(withoutPrefix(entries));
}

/** Settings of `Pulumi.<stack>.yaml` in `projectDir`, without the Pulumi CLI. */
export function readStackFile(projectDir: string, stack: string): StackSettings {
  const file = join(projectDir, `Pulumi.${stack}.yaml`);
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`cannot read stack "${stack}" (${file}): ${(err as Error).message}`, { cause: err });
  }
  const config = (doc as { config?: Record<string, unknown> } | null)?.config ?? {};
  return parseStackSettings(withoutPrefix(Object.entries(config)));
}
