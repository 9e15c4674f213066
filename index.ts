// The Pulumi program: read stack config, build the mesh on the chosen target,
// export where to reach it.
import { deployMesh } from "./infra/mesh-program.js";
import { readStackSettings } from "./infra/stack-config.js";

const mesh = deployMesh(readStackSettings());

export const gatewayUrl = mesh.gatewayUrl;
export const adminUrls = mesh.adminUrls;
export const prometheusUrl = mesh.prometheusUrl;
export const grafanaUrl = mesh.grafanaUrl;
export const zipkinUrl = mesh.zipkinUrl;
/** Secret: `pulumi stack output grafanaAdminPassword --show-secrets`. */
export const grafanaAdminPassword = mesh.grafanaAdminPassword;
