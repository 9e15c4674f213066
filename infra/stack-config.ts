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

/** The SDK's own test of whether the stack stores a key encrypted (not in its typings). */
function isConfigSecret(key: string): boolean {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  if (typeof runtime.isConfigSecret !== "function") throw new Error("@pulumi/pulumi no longer exposes runtime.isConfigSecret: update infra/stack-config.ts");
  return runtime.isConfigSecret(key) || runtime.isConfigSecret(key.replace(PREFIX, `${PREFIX}config:`));
}

/** Settings of the stack being deployed (Pulumi hands over `mesh:config:key` = string). */
export function readStackSettings(): StackSettings {
  const entries = Object.entries(pulumi.runtime.allConfig()).map(
    ([key, value]): [string, unknown] => [key.replace(`${PREFIX}config:`, PREFIX), value],
  );
  const secretKeys = new Set(entries.filter(([key]) => key.startsWith(PREFIX) && isConfigSecret(key)).map(([key]) => key.slice(PREFIX.length)));
  return parseStackSettings(withoutPrefix(entries), secretKeys);
}

/** Stands in for an encrypted value, which only the Pulumi CLI can decrypt. */
export const OFFLINE_SECRET_PLACEHOLDER = "encryptedInTheStackFileOnly";

function isEncrypted(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { secure?: unknown }).secure === "string";
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
  const raw = withoutPrefix(Object.entries(config));
  const secretKeys = new Set(Object.keys(raw).filter((key) => isEncrypted(raw[key])));
  for (const key of secretKeys) raw[key] = OFFLINE_SECRET_PLACEHOLDER;
  return parseStackSettings(raw, secretKeys);
}
