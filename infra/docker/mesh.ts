// The whole mesh on one Docker engine: networks, data stores, services with
// their sidecars, the edge, and Prometheus, Grafana and Zipkin.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { findProxy } from "../../envoy-templates/index.js";
import { dockerAddressing } from "./addressing.js";
import { adminPorts, type StackSettings } from "../config.js";
import { MeshComponent, adminUrlsByProxy, hostEndpoints } from "../mesh-endpoints.js";
import { type DataStoreName, EDGE_PROXY, type MeshModel, PORTS, type Workload } from "../model.js";
import { IMAGES } from "../versions.js";
import { appImage } from "../app-images.js";
import { DataStore } from "./data-store.js";
import { EnvoyProxy } from "./envoy-proxy.js";
import { identityVolume } from "./identity-volume.js";
import { Observability } from "./observability.js";
import { ServiceWithSidecar } from "./service-with-sidecar.js";
import { planMesh } from "../plan/mesh-plan.js";

export interface DockerMeshArgs {
  readonly model: MeshModel;
  readonly settings: StackSettings;
  /** Where the app images are built from (see deployMesh). */
  readonly buildContext: string;
}

export class DockerMesh extends MeshComponent {
  constructor(name: string, args: DockerMeshArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:docker:Mesh", name, {}, opts);
    const { model, settings } = args;
    const plan = planMesh(name, model, settings, dockerAddressing(settings), this);
    const { addressing, artifacts, secrets, images } = plan;
    const admin = adminPorts(settings);

    // Pulled once; containers refer to the image ID, so a re-pinned tag replaces them.
    const pull = (resourceName: string, ref: string) =>
      new docker.RemoteImage(resourceName, { name: ref, keepLocally: true }, { parent: this }).imageId;
    const pulled = (key: Exclude<keyof typeof images, "node">) => pull(`${name}-${key}-image`, images[key].ref);
    const envoyImage = pulled("envoy");

    const meshNetwork = new docker.Network(`${name}-network`, { driver: "bridge" }, { parent: this });

    const dataStores = Object.fromEntries(
      model.dataStores.map((store) => [
        store.name,
        new DataStore(`${name}-${store.name}`, { store: store.name, image: pulled(store.name), addressing, secrets }, { parent: this }),
      ]),
    ) as Record<DataStoreName, DataStore>;

    // One identity volume per workload, shared by its replicas' Envoys.
    const identity = (workload: Workload) => {
      const files = plan.identities[workload];
      if (files === undefined) throw new Error(`no identity planned for ${workload}: the docker addressing gives every proxy one`);
      return identityVolume(`${name}-${workload}`, files, workload === EDGE_PROXY, envoyImage, IMAGES.envoy, this);
    };

    const services = plan.services.map(
      ({ spec: service, environment }) => {
        const app = appImage(`${name}-${service.name}-image`, service.name, settings, args.buildContext, { parent: this });
        return new ServiceWithSidecar(
          `${name}-${service.name}`,
          {
            service,
            proxies: plan.proxies,
            addressing,
            appImage: app.source === "given" ? pull(`${name}-${service.name}-image`, app.ref) : app.image.repoDigest,
            envoyImage,
            environment,
            secrets,
            meshNetwork,
            dataStores,
            adminPorts: admin,
            logLevel: settings.envoyLogLevel,
            identity: identity(service.name),
          },
          { parent: this },
        );
      },
    );

    const edgeAdmin = admin.find((p) => p.proxy === EDGE_PROXY);
    if (!edgeAdmin) throw new Error("no admin host port for the edge");
    const edgeIdentity = identity(EDGE_PROXY);
    const edge = new EnvoyProxy(
      `${name}-edge`,
      {
        addressing,
        config: findProxy(plan.proxies, EDGE_PROXY),
        image: envoyImage,
        logLevel: settings.envoyLogLevel,
        networks: [{ network: meshNetwork, aliases: [EDGE_PROXY] }],
        adminHostPort: edgeAdmin.port,
        // The public gateway, HTTP and HTTPS: every host interface, as a gateway should.
        publish: [
          { internal: PORTS.edgeHttp, external: settings.gatewayPort },
          { internal: PORTS.edgeHttps, external: settings.gatewayHttpsPort },
        ],
        identity: edgeIdentity,
      },
      { parent: this, dependsOn: [...services, edgeIdentity.writer] },
    );

    new Observability(
      `${name}-observability`,
      {
        addressing,
        settings,
        secrets,
        meshNetwork,
        artifacts,
        images: { prometheus: pulled("prometheus"), zipkin: pulled("zipkin"), ...(settings.grafana ? { grafana: pulled("grafana") } : {}) },
      },
      { parent: this },
    );

    this.publish({
      ...hostEndpoints(settings),
      adminUrls: adminUrlsByProxy([
        { proxy: EDGE_PROXY, url: edge.adminUrl },
        ...services.flatMap((s) => s.sidecars.map((sidecar) => ({ proxy: sidecar.proxy, url: sidecar.adminUrl }))),
      ]),
      adminPortForwards: undefined,
      gatewayHttpsUrl: `https://127.0.0.1:${settings.gatewayHttpsPort}`,
      meshCaCertificate: plan.meshCaCertificate,
      grafanaAdminPassword: secrets.grafanaAdminPassword,
    });
  }
}
