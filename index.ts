// The Pulumi program: read stack config, build the mesh model, hand it to the
// chosen target, export the URLs.
import { readStackSettings } from "./infra/stack-config.js";
import { buildMeshModel } from "./infra/model.js";

const settings = readStackSettings();
const model = buildMeshModel(settings.replicas);

export const target = settings.target;
export const services = model.services.map((s) => s.name);
