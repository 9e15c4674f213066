// An environment as Docker takes it: one list of NAME=value, secret as a whole when
// any value is, so no password shows in plaintext in the state or a preview.
import * as pulumi from "@pulumi/pulumi";
import type { EnvEntry } from "../environment.js";
import type { MeshSecrets } from "../mesh-secrets.js";

export function dockerEnv(env: readonly EnvEntry[], secrets: MeshSecrets): pulumi.Output<string[]> {
  return pulumi.all(env.map((e) => ("secret" in e ? secrets.value(e.secret) : e.value))).apply((values) => env.map((e, i) => `${e.name}=${values[i]}`));
}
