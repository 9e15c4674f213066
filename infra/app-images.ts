// Where each app's image comes from, for both targets: a reference the stack
// names (nothing built), or a build of apps/Dockerfile for that app, pushed to
// the stack's registry when it names one.
import { join } from "node:path";
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "./config.js";
import type { ServiceName } from "./model.js";

export const APP_DOCKERFILE = "apps/Dockerfile";

export type AppImage =
  | { readonly source: "given"; readonly ref: string }
  /** `image.repoDigest` is the pushed registry@sha256 reference, or the local image ID when not pushed. */
  | { readonly source: "built"; readonly image: docker.Image; readonly pushed: boolean };

/** Name an app image is built under: a local tag, or a repository in the stack's registry. */
export function appImageName(service: ServiceName, registry = ""): string {
  return registry === "" ? `mesh-${service}:local` : `${registry}/mesh-${service}:latest`;
}

/** `context`: the repository's folder as the Docker provider resolves it ("." from the project folder). */
export function appImage(name: string, service: ServiceName, settings: StackSettings, context: string, opts: pulumi.CustomResourceOptions): AppImage {
  const given = settings.appImages[service];
  if (given !== undefined) return { source: "given", ref: given };
  const pushed = settings.imageRegistry !== "";
  const image = new docker.Image(
    name,
    {
      imageName: appImageName(service, settings.imageRegistry),
      build: {
        // Narrowed by apps/Dockerfile.dockerignore, which the provider's change detection honours.
        context,
        dockerfile: context === "." ? APP_DOCKERFILE : join(context, APP_DOCKERFILE),
        args: { APP: service, NODE_IMAGE: settings.images.node },
      },
      // Pushed with the Docker daemon's credentials (docker login) when a registry is set.
      skipPush: !pushed,
    },
    opts,
  );
  return { source: "built", image, pushed };
}
