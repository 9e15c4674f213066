// The local runner's workload identities: a CA generated for the run, and each proxy
// replica's identity directory written before its Envoy starts and rewritten in place
// to renew (the running Envoy picks the new files up by itself).
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { workloadIdentityFiles } from "../../envoy-templates/index.js";
import { type MeshModel, workloadOfProxy } from "../model.js";
import type { Release } from "../traffic.js";
import { type CertificateAuthority, generatedCa, trustBundle } from "../pki/index.js";
import { DEFAULT_CERTIFICATE_LIFETIME_HOURS } from "../workload-credentials.js";
import { envoyProcessName } from "./envoy.js";
import { writeIdentityDir } from "./swapped-dir.js";

/** The directory of a proxy replica (of a release) under `root`: its identity, or its dynamic resources. */
export function localProxyDir(root: string, proxy: string, replica: number, release: Release = "stable"): string {
  return join(root, envoyProcessName(proxy, replica, release));
}

export class LocalIdentities {
  readonly ca: CertificateAuthority;

  constructor(
    readonly root: string,
    private readonly model: MeshModel,
    readonly lifetimeHours = DEFAULT_CERTIFICATE_LIFETIME_HOURS,
  ) {
    // A fresh CA per run: nothing outside the run ever trusts it.
    this.ca = generatedCa(randomBytes(32).toString("base64"), new Date());
  }

  /** What every proxy of the run trusts (PEM). */
  trustBundlePem(): string {
    return trustBundle(this.ca);
  }

  /** Writes the identity of `proxy`'s replica as of `at`; writing it again in a later renewal period renews it in place. */
  write(proxy: string, replica: number, at = new Date(), release: Release = "stable"): void {
    const dir = localProxyDir(this.root, proxy, replica, release);
    writeIdentityDir(dir, workloadIdentityFiles(this.model, this.ca, workloadOfProxy(this.model, proxy), dir, this.lifetimeHours, at));
  }
}
