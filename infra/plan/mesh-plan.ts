// What every target deploys, before any target-specific resource: the mesh as data
// (infra/plan/mesh-data.ts: proxies' files, observability files, images, the apps'
// environments), plus the credentials and the workloads' identities from the stack's
// secrets. A target's components only map this onto its resources; what differs
// between targets is their own choice (addressing, how images reach the runtime, networking).
import * as pulumi from "@pulumi/pulumi";
import type { Addressing } from "../addressing.js";
import { type StackSettings, checkProvidedCa } from "../config.js";
import { MeshSecrets } from "../mesh-secrets.js";
import { workloadIdentityFiles } from "../../envoy-templates/index.js";
import { EDGE_PROXY, type MeshModel, type Workload, sidecarName } from "../model.js";
import { type CertificateAuthority, generatedCa, trustBundle } from "../pki/index.js";
import { type MeshData, planMeshData } from "./mesh-data.js";

/** Each workload's identity directory (infra/workload-credentials.ts), as files by name: secret through the key. */
export type IdentityPlan = Readonly<Partial<Record<Workload, pulumi.Output<Record<string, string>>>>>;

/** The mesh as data (infra/plan/mesh-data.ts), and what comes from the stack's secrets. */
export interface MeshPlan extends MeshData {
  readonly secrets: MeshSecrets;
  /** Where the target gives proxies an identity directory (addressing); empty where it does not. */
  readonly identities: IdentityPlan;
  /** The mesh CA's trust bundle (public): what clients of the edge's generated HTTPS certificate trust. */
  readonly meshCaCertificate: pulumi.Output<string>;
}

/** The organisation's CA where the stack provides one, else the CA the secret seed derives. */
function meshCa(settings: StackSettings, secrets: MeshSecrets, at: Date): pulumi.Output<CertificateAuthority> {
  const provided = settings.providedCa;
  // Checked before any resource is declared, so a CA that cannot be used fails the preview.
  if (provided) {
    const ca = checkProvidedCa(provided, at);
    // Secret through its key (an apply keeps the authority object itself; pulumi.secret would copy it).
    return pulumi.secret(provided.privateKeyPem).apply(() => ca);
  }
  if (!secrets.meshCaSeed) throw new Error("no mesh CA: neither a provided CA nor a seed");
  return secrets.meshCaSeed.apply((seed) => generatedCa(seed, at));
}

/**
 * Every workload's certificate, key and trust bundle as of now, from the mesh CA the
 * secret seed derives: the same within a renewal period (a second `up` changes nothing),
 * renewed past two thirds of a certificate's lifetime. Every replica of a workload
 * shares its identity, so the files are replica 0's directory.
 */
function planIdentities(model: MeshModel, settings: StackSettings, addressing: Addressing, ca: pulumi.Output<CertificateAuthority>, at: Date): IdentityPlan {
  const workloads: Workload[] = [EDGE_PROXY, ...model.services.map((s) => s.name)];
  return Object.fromEntries(
    workloads.flatMap((workload) => {
      const dir = addressing.binding(workload === EDGE_PROXY ? EDGE_PROXY : sidecarName(workload), 0).identityDir;
      if (dir === undefined) return [];
      const files = ca.apply((ca) => workloadIdentityFiles(model, ca, workload, dir, settings.certificateLifetimeHours, at));
      return [[workload, pulumi.secret(files)]];
    }),
  );
}

/** The plan for a mesh component `name`; its credentials (provided or generated) are children of `parent`. */
export function planMesh(name: string, model: MeshModel, settings: StackSettings, addressing: Addressing, parent: pulumi.Resource): MeshPlan {
  const secrets = new MeshSecrets(`${name}-secrets`, settings.passwords, settings.grafana, settings.providedCa !== undefined, { parent });
  // One instant for every certificate of this run of the program.
  const issuedAt = new Date();
  const ca = meshCa(settings, secrets, issuedAt);
  return {
    ...planMeshData(model, settings, addressing),
    secrets,
    identities: planIdentities(model, settings, addressing, ca, issuedAt),
    // Public, though derived from secrets: unwrapped so the output shows it.
    meshCaCertificate: pulumi.unsecret(ca.apply(trustBundle)),
  };
}
