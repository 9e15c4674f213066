// Where each app's image comes from, for both targets: a reference the stack
// names (nothing built), or a build of apps/Dockerfile for that app, pushed to
// the stack's registry when it names one.
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "./config.js";
import type { ServiceName } from "./model.js";

export const APP_DOCKERFILE = "apps/Dockerfile";

/** The repository root: the apps, their Dockerfile and the lock file they share. */
const REPOSITORY_ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The build context as the Docker provider resolves it (from the folder it runs
 * in, the Pulumi project's): "." when the program runs from this repository, as
 * index.ts does, so the image inputs hold no machine's path; the repository's
 * absolute path when another project folder runs it (an Automation API workspace).
 */
function buildContext(): string {
  // Pulumi's mocks have no project folder (they answer a placeholder, not a path).
  const projectRoot = pulumi.runtime.getRootDirectory();
  const elsewhere = isAbsolute(projectRoot) && resolve(projectRoot) !== resolve(REPOSITORY_ROOT);
  return elsewhere ? REPOSITORY_ROOT : ".";
}

export type AppImage =
  | { readonly source: "given"; readonly ref: string }
  /** `image.repoDigest` is the pushed registry@sha256 reference, or the local image ID when not pushed. */
  | { readonly source: "built"; readonly image: docker.Image; readonly pushed: boolean };

/** Name an app image is built under: a local tag, or a repository in the stack's registry. */
export function appImageName(service: ServiceName, registry = ""): string {
  return registry === "" ? `mesh-${service}:local` : `${registry}/mesh-${service}:latest`;
}

export function appImage(name: string, service: ServiceName, settings: StackSettings, opts: pulumi.CustomResourceOptions): AppImage {
  const given = settings.appImages[service];
  if (given !== undefined) return { source: "given", ref: given };
  const pushed = settings.imageRegistry !== "";
  const context = buildContext();
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
