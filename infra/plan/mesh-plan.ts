// What every target deploys, before any target-specific resource: the model, the
// generated artifacts for the target's addressing, the credentials, the images,
// and per service its spec and its app's environment. A target's components only
// map this onto its resources; what differs between targets is their own choice
// (addressing, how images reach the runtime, networking).
import * as pulumi from "@pulumi/pulumi";
import type { Addressing } from "../addressing.js";
import { appEnvironment, appLogLevel } from "../app-environment.js";
import { renderObservabilityArtifacts } from "../artifacts/index.js";
import { type StackSettings, checkProvidedCa } from "../config.js";
import type { EnvEntry } from "../environment.js";
import { MeshSecrets } from "../mesh-secrets.js";
import { type RenderedProxy, renderProxies, workloadIdentityFiles } from "../../envoy-templates/index.js";
import { EDGE_PROXY, type MeshModel, type ServiceSpec, type Workload, sidecarName } from "../model.js";
import { type CertificateAuthority, generatedCa, trustBundle } from "../pki/index.js";
import { type ImageKey, type PinnedImage, resolveImages } from "../versions.js";

export interface ServicePlan {
  readonly spec: ServiceSpec;
  /** The app's variables; its connection URLs are secrets by reference (MeshSecrets resolves them). */
  readonly environment: readonly EnvEntry[];
}

/** Each workload's identity directory (infra/workload-credentials.ts), as files by name: secret through the key. */
export type IdentityPlan = Readonly<Partial<Record<Workload, pulumi.Output<Record<string, string>>>>>;

export interface MeshPlan {
  readonly model: MeshModel;
  readonly settings: StackSettings;
  readonly addressing: Addressing;
  /** The Prometheus and Grafana files, keyed by path (infra/artifacts/placement.ts says where each goes). */
  readonly artifacts: Readonly<Record<string, string>>;
  /** Every Envoy of the mesh (each replica of each release) with its bootstrap and dynamic files: what the targets run. */
  readonly proxies: readonly RenderedProxy[];
  readonly secrets: MeshSecrets;
  readonly images: Readonly<Record<ImageKey, PinnedImage>>;
  readonly services: readonly ServicePlan[];
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
    model,
    settings,
    addressing,
    artifacts: renderObservabilityArtifacts(model, addressing),
    proxies: renderProxies(model, addressing),
    secrets,
    images: resolveImages(settings.images),
    services: model.services.map((spec) => ({
      spec,
      environment: appEnvironment(model, spec, addressing.binding(sidecarName(spec.name), 0).podLoopback, appLogLevel(settings.envoyLogLevel)),
    })),
    identities: planIdentities(model, settings, addressing, ca, issuedAt),
    // Public, though derived from secrets: unwrapped so the output shows it.
    meshCaCertificate: pulumi.unsecret(ca.apply(trustBundle)),
  };
}
