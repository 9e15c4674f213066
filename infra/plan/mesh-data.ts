// The mesh as plain data, with no Pulumi in it: from the model, the validated settings
// and a target's addressing, every Envoy replica's files, the Prometheus and Grafana
// files, the pinned images and each app's environment (its secrets named by the
// password they carry, never their values). infra/plan/mesh-plan.ts adds the
// credentials and identities, which come from Pulumi secrets; the targets map the rest.
import type { Addressing } from "../addressing.js";
import { appEnvironment, appLogLevel } from "../app-environment.js";
import { renderObservabilityArtifacts } from "../artifacts/index.js";
import type { StackSettings } from "../config.js";
import type { EnvEntry } from "../environment.js";
import { type RenderedProxy, renderProxies } from "../../envoy-templates/index.js";
import { type MeshModel, type ServiceSpec, sidecarName } from "../model.js";
import { type ImageKey, type PinnedImage, resolveImages } from "../versions.js";

export interface ServicePlan {
  readonly spec: ServiceSpec;
  /** The app's variables; its connection URLs are secrets by reference (each target resolves them). */
  readonly environment: readonly EnvEntry[];
}

export interface MeshData {
  readonly model: MeshModel;
  readonly settings: StackSettings;
  readonly addressing: Addressing;
  /** The Prometheus and Grafana files, keyed by path (infra/artifacts/placement.ts says where each goes). */
  readonly artifacts: Readonly<Record<string, string>>;
  /** Every Envoy of the mesh (each replica of each release) with its bootstrap and dynamic files: what the targets run. */
  readonly proxies: readonly RenderedProxy[];
  readonly images: Readonly<Record<ImageKey, PinnedImage>>;
  readonly services: readonly ServicePlan[];
}

export function planMeshData(model: MeshModel, settings: StackSettings, addressing: Addressing): MeshData {
  return {
    model,
    settings,
    addressing,
    artifacts: renderObservabilityArtifacts(model, addressing),
    proxies: renderProxies(model, addressing),
    images: resolveImages(settings.images),
    services: model.services.map((spec) => ({
      spec,
      environment: appEnvironment(model, spec, addressing.binding(sidecarName(spec.name), 0).podLoopback, appLogLevel(settings.envoyLogLevel)),
    })),
  };
}
