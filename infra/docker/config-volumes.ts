// Generated files for containers with a read-only root filesystem.
//
// Not as `uploads` into those containers: @pulumi/docker (kreuzwerker's
// terraform-provider-docker) sends each upload as an archive holding the file
// under its absolute path, extracted at "/" (PUT /containers/{id}/archive?path=/)
// before the container starts. The daemon refuses to extract into a container
// whose rootfs is read-only unless the extraction point lies in one of its
// read-write mounts (moby daemon/archive: checkIfPathIsInAVolume, "container
// rootfs is marked read-only"), and "/" never does: even a volume mounted at
// the upload directory would not let the upload through. tmpfs mounts would not
// help either: they are mounted only at start, over whatever was uploaded.
//
// So each directory of files is a named volume. A seed container, created and
// never started (writable rootfs, no network), mounts the volumes read-write
// under SEED_ROOT and takes the uploads there: the archive still extracts at
// "/", and the daemon, which mounts a container's volumes for the copy, writes
// the files into the volumes. The consumer mounts the volumes read-only at the
// directories it reads, and is created after the seed. Files are root-owned
// (the daemon extracts as root) with the upload's mode, 0444 or 0555: the
// non-root process reads them and can change nothing.
//
// Each volume's Docker name carries a hash of its files: changed content makes
// a fresh volume (no file of an older version survives), a new seed and a new
// consumer, and touches no other container. The old volume goes once its old
// seed and consumer are gone.
import { createHash } from "node:crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Where the seed container mounts the volumes: a path no pinned image has, so Docker copies nothing from the image. */
export const SEED_ROOT = "/mesh-seed";

export interface ConfigFile {
  /** Relative to the directory. */
  readonly path: string;
  readonly content: string;
  /** Octal mode; 0444 unless the consumer executes the file. */
  readonly permissions?: "0444" | "0555";
}

export interface ConfigDir {
  /** Names the volume: `<seed name>-<label>`; also its directory under SEED_ROOT. */
  readonly label: string;
  /** Directory inside the consumer. */
  readonly mountPath: string;
  readonly files: readonly ConfigFile[];
}

export interface ConfigVolumes {
  /** Read-only mounts for the consumer. */
  readonly volumes: docker.types.input.ContainerVolume[];
  /** The consumer must depend on it: the files are in the volumes once it exists. */
  readonly seed: docker.Container;
}

/** First 16 hex digits of a SHA-256 over the files (paths, modes and contents), in path order. */
export function configHash(files: readonly ConfigFile[]): string {
  const hash = createHash("sha256");
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(JSON.stringify([file.path, file.permissions ?? "0444", file.content]));
    hash.update("\n");
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * Volumes holding `dirs` and the seed container that fills them, as children of `parent`.
 * `image` only has to exist locally: the seed never runs; pass the consumer's.
 */
export function configVolumes(name: string, image: pulumi.Input<string>, dirs: readonly ConfigDir[], parent: pulumi.Resource): ConfigVolumes {
  const labels = new Set(dirs.map((dir) => dir.label));
  if (labels.size !== dirs.length || dirs.some((dir) => !/^[a-z0-9][a-z0-9-]*$/.test(dir.label))) {
    throw new Error(`${name}: config directory labels must be distinct and [a-z0-9-]: ${dirs.map((dir) => dir.label).join(", ")}`);
  }
  const mounted = dirs.map((dir) => {
    if (dir.files.length === 0) throw new Error(`${name}: no files for ${dir.mountPath}`);
    // The stack in the name: two stacks on one engine never share a volume, even with equal content.
    const volume = new docker.Volume(`${name}-${dir.label}`, { name: `${pulumi.getStack()}-${name}-${dir.label}-${configHash(dir.files)}` }, { parent });
    return { dir, volume, seedPath: `${SEED_ROOT}/${dir.label}` };
  });

  const seed = new docker.Container(
    `${name}-seed`,
    {
      image,
      // Created for the uploads, never started: it runs nothing, so it needs no read-only root.
      start: false,
      mustRun: false,
      restart: "no",
      networkMode: "none",
      capabilities: { drops: ["ALL"] },
      securityOpts: ["no-new-privileges:true"],
      volumes: mounted.map(({ volume, seedPath }) => ({ volumeName: volume.name, containerPath: seedPath })),
      uploads: mounted.flatMap(({ dir, seedPath }) =>
        dir.files.map((file) => ({ file: `${seedPath}/${file.path}`, content: file.content, permissions: file.permissions ?? "0444" })),
      ),
    },
    { parent },
  );

  return {
    volumes: mounted.map(({ dir, volume }) => ({ volumeName: volume.name, containerPath: dir.mountPath, readOnly: true })),
    seed,
  };
}
