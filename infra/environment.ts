// A container's environment as every target describes it: plain values and
// secrets, in order; each target maps it (Docker NAME=value lists, Kubernetes
// env with secretKeyRef) without ever printing a secret.
import type * as pulumi from "@pulumi/pulumi";

/** One environment variable: a plain value, or a secret. */
export type EnvEntry = { readonly name: string; readonly value: string } | { readonly name: string; readonly secret: pulumi.Output<string> };

/** The secret variables of an environment, by name. */
export function secretEntries(env: readonly EnvEntry[]): Record<string, pulumi.Output<string>> {
  return Object.fromEntries(env.flatMap((e) => ("secret" in e ? [[e.name, e.secret]] : [])));
}
