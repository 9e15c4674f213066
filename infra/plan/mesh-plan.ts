// What every target deploys, before any target-specific resource: the model, the
// generated artifacts for the target's addressing, the credentials, the images,
// and per service its spec and its app's environment. A target's components only
// map this onto its resources; what differs between targets is their own choice
// (addressing, how images reach the runtime, networking).
import type * as pulumi from "@pulumi/pulumi";
import type { Addressing } from "../addressing.js";
import { appEnvironment } from "../app-environment.js";
import { renderArtifacts } from "../artifacts/index.js";
import type { StackSettings } from "../config.js";
import { MeshSecrets } from "../mesh-secrets.js";
import type { MeshModel, ServiceSpec } from "../model.js";
import { type ImageKey, type PinnedImage, resolveImages } from "../versions.js";

export interface ServicePlan {
  readonly spec: ServiceSpec;
  /** The app's variables, secret as a whole (its connection URLs carry passwords). */
  readonly environment: pulumi.Output<Record<string, string>>;
}

export interface MeshPlan {
  readonly model: MeshModel;
  readonly settings: StackSettings;
  readonly addressing: Addressing;
  /** Every generated file, keyed by path (infra/artifacts/placement.ts says where each goes). */
  readonly artifacts: Readonly<Record<string, string>>;
  readonly secrets: MeshSecrets;
  readonly images: Readonly<Record<ImageKey, PinnedImage>>;
  readonly services: readonly ServicePlan[];
}

/** The plan for a mesh component `name`; its credentials (provided or generated) are children of `parent`. */
export function planMesh(name: string, model: MeshModel, settings: StackSettings, addressing: Addressing, parent: pulumi.Resource): MeshPlan {
  const secrets = new MeshSecrets(`${name}-secrets`, settings.passwords, settings.grafana, { parent });
  return {
    model,
    settings,
    addressing,
    artifacts: renderArtifacts(model, addressing),
    secrets,
    images: resolveImages(settings.images),
    services: model.services.map((spec) => ({ spec, environment: appEnvironment(model, spec, addressing, secrets, settings.envoyLogLevel) })),
  };
}
