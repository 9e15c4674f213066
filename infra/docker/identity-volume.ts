// A workload's identity directory on Docker: a named volume of a fixed name that every
// Envoy of the workload mounts read-only, filled by a one-shot writer container.
//
// The files cannot arrive as uploads into the Envoys (read-only roots, config-volumes.ts
// says why), and a volume named by its content, as config volumes are, would replace
// every Envoy on each renewal. Envoy reloads certificates when an entry of the watched
// directory is *moved* into place, which Docker's archive extraction never does. So a
// writer container takes the files as uploads into its own writable root, copies them
// into a fresh version folder of the volume, and switches the volume's `..data` link to
// it with one rename, as the kubelet does for a Secret volume. A renewal changes only the
// writer's uploads: the writer is replaced and runs once more; the Envoys stay.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { identityFileNames } from "../../envoy-templates/index.js";
import type { PinnedImage } from "../versions.js";
import type { WorkloadSize } from "../workload-sizes.js";
import { hardened } from "./hardening.js";

/** bash and cp for a moment. */
const IDENTITY_WRITER_SIZE: WorkloadSize = { cpu: 0.1, memoryMiB: 32 };

/** Where the writer receives the files, in its own root filesystem. */
const INCOMING = "/incoming";
/** Where the writer mounts the identity volume. */
const TARGET = "/identity";

/**
 * The swap, in the writer (bash): files root-owned, readable by Envoy's group only;
 * older versions removed once the link points at the new one.
 */
export function identitySwapScript(fileNames: readonly string[], envoyGid: number, incoming = INCOMING, target = TARGET): string {
  const links = fileNames.map((file) => `[ -L ${file} ] || ln -s ..data/${file} ${file}`).join("; ");
  return [
    "set -euo pipefail",
    `cd ${target}`,
    'v="..$(date +%s%N)"',
    'mkdir "$v"',
    `cp ${incoming}/* "$v"/`,
    `chown -R 0:${envoyGid} "$v" . && chmod 0750 "$v" . && chmod 0440 "$v"/*`,
    'ln -sfn "$v" ..data_tmp && mv -T ..data_tmp ..data',
    links,
    'for old in ..[0-9]*; do [ "$old" = "$v" ] || rm -rf "$old"; done',
  ].join("\n");
}

export interface IdentityVolume {
  /** Mount for the workload's Envoys (read-only, at the addressing's identity directory). */
  readonly mount: (containerPath: string) => docker.types.input.ContainerVolume;
  /** Envoys depend on it: the files are in the volume once it has run. */
  readonly writer: docker.Container;
}

export function identityVolume(
  name: string,
  files: pulumi.Output<Record<string, string>>,
  server: boolean,
  envoyImage: pulumi.Input<string>,
  envoyUser: PinnedImage,
  parent: pulumi.Resource,
): IdentityVolume {
  // A fixed name (the stack in it: two stacks on one engine never share one), so renewals reuse it.
  const volume = new docker.Volume(`${name}-identity`, { name: `${pulumi.getStack()}-${name}-identity` }, { parent });
  const fileNames = identityFileNames(server);
  const writer = new docker.Container(
    `${name}-identity-writer`,
    {
      image: envoyImage,
      entrypoints: ["/bin/bash", "-c"],
      command: [identitySwapScript(fileNames, envoyUser.gid)],
      // Limits as every container's; a writable root, as its uploads need (config-volumes.ts).
      ...hardened(envoyUser, IDENTITY_WRITER_SIZE, { readOnlyRoot: false }),
      // Root for the chown to Envoy's group, with that one capability; nothing to reach.
      user: "0:0",
      capabilities: { drops: ["ALL"], adds: ["CHOWN"] },
      networkMode: "none",
      // Runs once to completion: `up` waits for it (attach) and expects no long-running container.
      mustRun: false,
      attach: true,
      restart: "no",
      volumes: [{ volumeName: volume.name, containerPath: TARGET }],
      uploads: fileNames.map((file) => ({ file: `${INCOMING}/${file}`, content: files.apply((all) => all[file] ?? ""), permissions: "0400" })),
    },
    { parent },
  );
  return { mount: (containerPath) => ({ volumeName: volume.name, containerPath, readOnly: true }), writer };
}
