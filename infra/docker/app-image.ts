// App images, built from apps/<name>/Dockerfile with the repository root as
// context (the apps share the root package-lock.json). Both targets use them:
// Docker runs them directly, kind loads them into its nodes.
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { ServiceName } from "../model.js";
import { IMAGES } from "../versions.js";

/** Local tag of an app image (never pushed). */
export function appImageName(service: ServiceName): string {
  return `mesh-${service}:local`;
}

export function appImage(name: string, service: ServiceName, opts: pulumi.CustomResourceOptions): docker.Image {
  return new docker.Image(
    name,
    {
      imageName: appImageName(service),
      build: {
        // Relative to the project directory, where Pulumi runs the program.
        context: ".",
        dockerfile: `apps/${service}/Dockerfile`,
        args: { NODE_IMAGE: IMAGES.node.ref },
      },
      skipPush: true,
    },
    opts,
  );
}
