// A container's environment as the plan states it for every target: plain values,
// and secrets named by the stack password they carry, never their values. Each
// target resolves the names its own way (Pulumi secrets for Docker and Kubernetes,
// the run's generated passwords for the local runner) and maps the list once
// (Docker NAME=value lists, Kubernetes env with secretKeyRef, a process's env).
import type { PasswordName } from "./config.js";

/** A secret variable: the stack's password `password`, placed into the value by `format` (the value is the password itself where absent). */
export interface SecretRef {
  readonly password: PasswordName;
  readonly format?: (password: string) => string;
}

/** One environment variable: a plain value, or a secret by reference. */
export type EnvEntry = { readonly name: string; readonly value: string } | { readonly name: string; readonly secret: SecretRef };

/** A secret's value, from its password. */
export function secretValue(ref: SecretRef, password: string): string {
  return ref.format ? ref.format(password) : password;
}

/** The environment as one map, its secrets resolved from `passwords` (the local runner's, generated for its run). */
export function envValues(env: readonly EnvEntry[], passwords: Readonly<Partial<Record<PasswordName, string>>>): Record<string, string> {
  return Object.fromEntries(
    env.map((e) => {
      if (!("secret" in e)) return [e.name, e.value];
      const password = passwords[e.secret.password];
      if (password === undefined) throw new Error(`${e.name} needs the ${e.secret.password} password, and none was given`);
      return [e.name, secretValue(e.secret, password)];
    }),
  );
}
