// Writes a directory the way the kubelet updates a Secret or ConfigMap volume, so a
// running Envoy sees one consistent change: the files are written into a fresh hidden
// folder, each visible name is a link through `..data`, and `..data` is switched to the
// new folder by one rename (atomic). Envoy watches such a directory for moves and
// reloads what it reads from it together: certificate, key and trust bundle; or routes
// and clusters. Names the new contents no longer have are removed.
import { mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PRIVATE_IDENTITY_FILES } from "../../envoy-templates/index.js";

const DATA_LINK = "..data";

export function writeSwappedDir(dir: string, files: Readonly<Record<string, string>>, privateNames: ReadonlySet<string> = new Set()): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const version = `..${Date.now()}-${process.hrtime.bigint() % 1_000_000n}`;
  const versionDir = join(dir, version);
  mkdirSync(versionDir, { mode: 0o700 });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(versionDir, name), content, { mode: privateNames.has(name) ? 0o600 : 0o644 });
  }
  let previous: string | undefined;
  try {
    previous = readlinkSync(join(dir, DATA_LINK));
  } catch {
    previous = undefined;
  }
  const nextLink = join(dir, `${DATA_LINK}_tmp`);
  rmSync(nextLink, { force: true });
  symlinkSync(version, nextLink);
  renameSync(nextLink, join(dir, DATA_LINK));
  for (const name of readdirSync(dir)) {
    if (name.startsWith("..")) continue;
    if (!(name in files)) rmSync(join(dir, name), { force: true });
  }
  const entries = new Set(readdirSync(dir));
  for (const name of Object.keys(files)) {
    if (!entries.has(name)) symlinkSync(join(DATA_LINK, name), join(dir, name));
  }
  if (previous !== undefined && previous !== version) rmSync(join(dir, previous), { recursive: true, force: true });
}

/** A proxy's identity directory: its private key readable by its owner only. */
export function writeIdentityDir(dir: string, files: Readonly<Record<string, string>>): void {
  writeSwappedDir(dir, files, PRIVATE_IDENTITY_FILES);
}
