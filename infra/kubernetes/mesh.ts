// The whole mesh in one Kubernetes namespace (kind or any cluster): Pod
// Security "restricted" enforced, default-deny NetworkPolicies, data stores,
// services with native Envoy sidecars, the edge, and Prometheus, Grafana, Zipkin.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { findProxy } from "../../envoy-templates/index.js";
import { kubernetesAddressing } from "./addressing.js";
import { type StackSettings, adminPorts } from "../config.js";
import { MeshComponent, hostEndpoints } from "../mesh-endpoints.js";
import { EDGE_PROXY, PORTS, SERVICE_NAMES, sidecarName, type MeshModel, type Workload } from "../model.js";
import { appImage } from "../app-images.js";
import { DataStore } from "./data-store.js";
import { EdgeProxy } from "./edge.js";
import { kindClusterName, loadIntoKind } from "./kind-images.js";
import { NetworkPolicies } from "./network-policies.js";
import { Observability } from "./observability.js";
import { ServiceWithSidecar } from "./service-with-sidecar.js";
import { releaseName } from "../traffic.js";
import { componentLabels } from "./workload.js";
import { type IdentityPlan, planMesh } from "../plan/mesh-plan.js";

export interface KubernetesMeshArgs {
  readonly model: MeshModel;
  readonly settings: StackSettings;
  /** Where the app images are built from (see deployMesh). */
  readonly buildContext: string;
}

/** Size of each data store's persistent volume. */
const DATA_STORE_STORAGE = "1Gi";

export class KubernetesMesh extends MeshComponent {
  constructor(name: string, args: KubernetesMeshArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:kubernetes:Mesh", name, {}, opts);
    const { model, settings } = args;
    const plan = planMesh(name, model, settings, kubernetesAddressing(settings.namespace, settings), this);
    const { artifacts, secrets, images } = plan;

    // Every Kubernetes resource goes to the configured context, never an ambient one by accident.
    const provider = new k8s.Provider(
      `${name}-cluster`,
      { context: settings.kubeContext === "" ? undefined : settings.kubeContext, enableServerSideApply: true },
      { parent: this },
    );
    const inCluster = { parent: this, provider };
    // The identity Secrets and the Envoys' dynamic ConfigMaps alone are patched in place when
    // their data changes (the main provider replaces a changed Secret or ConfigMap, which for
    // these fixed names means deleting it first): a renewal or a new weight then reaches the
    // running pods through their volumes, and nothing rolls.
    const inPlaceProvider = new k8s.Provider(
      `${name}-identities`,
      { context: settings.kubeContext === "" ? undefined : settings.kubeContext, enableServerSideApply: true, enableSecretMutable: true, enableConfigMapMutable: true },
      { parent: this },
    );

    const namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: settings.namespace,
          labels: {
            ...componentLabels("namespace"),
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
          },
        },
      },
      inCluster,
    );
    const ns = namespace.metadata.name;
    const inNamespace = { ...inCluster, dependsOn: [namespace] };

    const policies = new NetworkPolicies(`${name}-network-policies`, { model, namespace: ns, options: settings }, inNamespace);

    const dataStores = Object.fromEntries(
      model.dataStores.map((store) => [
        store.name,
        new DataStore(`${name}-${store.name}`, { store: store.name, namespace: ns, secrets, storageSize: DATA_STORE_STORAGE, image: images[store.name] }, { ...inCluster, dependsOn: [namespace, policies] }),
      ]),
    );

    const kindCluster = kindClusterName(settings.kubeContext);
    const services = plan.services.flatMap(({ spec: service, environment }) => {
      const app = appImage(`${name}-${service.name}-image`, service.name, settings, args.buildContext, { parent: this });
      // A built image the cluster cannot pull: kind gets it loaded into its nodes; another cluster needs a registry.
      const local = app.source === "built" && !app.pushed;
      if (local && kindCluster === undefined) {
        pulumi.log.warn(
          `kubeContext "${settings.kubeContext}" is not a kind context and ${service.name}'s image is built locally: set mesh:imageRegistry to push it, or mesh:appImages to use a published one`,
        );
      }
      const loaded = local && kindCluster !== undefined ? [loadIntoKind(`${name}-${service.name}-kind-load`, kindCluster, app.image, { parent: this })] : [];
      const stableImage = app.source === "given" ? app.ref : app.pushed ? app.image.repoDigest : app.image.imageName;
      const stableImageId = app.source === "given" ? app.ref : app.image.repoDigest;
      const canary = model.traffic.canaries[service.name];
      const releases = [
        { release: "stable" as const, replicas: service.replicas, image: stableImage, imageId: stableImageId },
        // A canary runs its own image, or the stable one's (to rehearse a rollout's mechanics).
        ...(canary !== undefined ? [{ release: "canary" as const, replicas: canary.replicas, image: canary.image ?? stableImage, imageId: canary.image ?? stableImageId }] : []),
      ];
      return releases.map(
        ({ release, replicas, image, imageId }) =>
          new ServiceWithSidecar(
            // The stable release keeps the service's name, so its resources keep theirs.
            `${name}-${releaseName(service.name, release)}`,
            {
              service,
              release,
              replicas,
              config: findProxy(plan.proxies, sidecarName(service.name), 0, release),
              namespace: ns,
              appImageRef: image,
              appImageId: imageId,
              envoyImage: images.envoy,
              nodeImage: images.node,
              environment,
              secrets,
              identity: requiredIdentity(plan.identities, service.name),
              inPlaceProvider,
              logLevel: settings.envoyLogLevel,
            },
            // Policies first, so no pod ever runs unconfined; the stores (and images) before the apps.
            { ...inCluster, dependsOn: [namespace, policies, ...service.dataStores.map((s) => dataStores[s] as DataStore), ...loaded] },
          ),
      );
    });

    new EdgeProxy(
      `${name}-edge`,
      {
        config: findProxy(plan.proxies, EDGE_PROXY),
        namespace: ns,
        logLevel: settings.envoyLogLevel,
        envoyImage: images.envoy,
        identity: requiredIdentity(plan.identities, EDGE_PROXY),
        inPlaceProvider,
      },
      { ...inCluster, dependsOn: [namespace, policies, ...services] },
    );
    new Observability(`${name}-observability`, { namespace: ns, secrets, artifacts, images, grafana: settings.grafana }, { ...inCluster, dependsOn: [namespace, policies] });

    // kind-cluster.yaml maps the NodePorts to these host ports; the admin
    // interfaces stay on pod loopbacks, reached with `kubectl port-forward`.
    this.publish({
      ...hostEndpoints(settings),
      gatewayHttpsUrl: `https://127.0.0.1:${settings.gatewayHttpsPort}`,
      meshCaCertificate: plan.meshCaCertificate,
      adminUrls: undefined,
      adminPortForwards: adminPortForwards(settings),
      grafanaAdminPassword: secrets.grafanaAdminPassword,
    });
  }
}

/**
 * Per proxy, the port-forward that serves its admin on 127.0.0.1 at its slot's
 * port (the Deployment picks a replica; `pod/<name>` reaches a given one).
 */
export function adminPortForwards(settings: StackSettings): Record<string, { command: string; url: string }> {
  const context = settings.kubeContext === "" ? "" : `--context ${settings.kubeContext} `;
  const deployments: Record<string, string> = Object.fromEntries([[EDGE_PROXY, EDGE_PROXY], ...SERVICE_NAMES.map((s) => [sidecarName(s), s])]);
  return Object.fromEntries(
    adminPorts(settings)
      .filter((p) => p.replica === 0)
      .map((p) => [p.proxy, { command: `kubectl ${context}-n ${settings.namespace} port-forward deployment/${deployments[p.proxy]} ${p.port}:${PORTS.envoyAdmin}`, url: `http://127.0.0.1:${p.port}` }]),
  );
}

/** A workload's identity files; kubernetesAddressing gives every proxy an identity directory. */
function requiredIdentity(identities: IdentityPlan, workload: Workload): pulumi.Output<Record<string, string>> {
  const files = identities[workload];
  if (files === undefined) throw new Error(`no identity planned for ${workload}: the kubernetes addressing gives every proxy one`);
  return files;
}
