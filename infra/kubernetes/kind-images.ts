// kind nodes cannot pull the locally built app images: `kind load docker-image`
// copies each into the nodes. The command's trigger is the image's ID, so it
// runs again exactly when the image is rebuilt (and the pods roll by the same ID).
import * as command from "@pulumi/command";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** The kind cluster behind a kubeconfig context ("kind-<cluster>"), or undefined for another cluster. */
export function kindClusterName(kubeContext: string): string | undefined {
  return kubeContext.startsWith("kind-") ? kubeContext.slice("kind-".length) : undefined;
}

export function loadIntoKind(name: string, cluster: string, image: docker.Image, opts: pulumi.CustomResourceOptions): command.local.Command {
  return new command.local.Command(
    name,
    {
      create: pulumi.interpolate`kind load docker-image --name ${cluster} ${image.imageName}`,
      triggers: [image.repoDigest],
    },
    opts,
  );
}
