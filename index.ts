// The Pulumi program: read stack config, build the mesh on the chosen target,
// export where to reach it.
import { deployMesh } from "./infra/mesh-program.js";
import { readStackSettings } from "./infra/stack-config.js";

const mesh = deployMesh(readStackSettings());

export const gatewayUrl = mesh.gatewayUrl;
/** The edge over HTTPS, and the mesh CA certificate its generated certificate chains to (what clients trust). */
export const gatewayHttpsUrl = mesh.gatewayHttpsUrl;
export const meshCaCertificate = mesh.meshCaCertificate;
/** Docker only: the admin interfaces on 127.0.0.1. */
export const adminUrls = mesh.adminUrls;
/** Kubernetes only: per proxy, the `kubectl port-forward` that serves its admin, and where. */
export const adminPortForwards = mesh.adminPortForwards;
export const prometheusUrl = mesh.prometheusUrl;
export const grafanaUrl = mesh.grafanaUrl;
export const zipkinUrl = mesh.zipkinUrl;
/** Secret: `pulumi stack output grafanaAdminPassword --show-secrets`. */
export const grafanaAdminPassword = mesh.grafanaAdminPassword;
