// Writes a proxy's identity directory the way the kubelet updates a Secret volume, so
// a running Envoy sees one consistent change: the files are written into a fresh
// hidden folder, each visible name is a link through `..data`, and `..data` is
// switched to the new folder by one rename (atomic). Envoy watches the directory
// for moves and reloads certificate, key and trust bundle together.
import { mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PRIVATE_IDENTITY_FILES } from "../../envoy-templates/index.js";

const DATA_LINK = "..data";

export function writeIdentityDir(dir: string, files: Readonly<Record<string, string>>): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const version = `..${Date.now()}-${process.hrtime.bigint() % 1_000_000n}`;
  const versionDir = join(dir, version);
  mkdirSync(versionDir, { mode: 0o700 });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(versionDir, name), content, { mode: PRIVATE_IDENTITY_FILES.has(name) ? 0o600 : 0o644 });
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
  const entries = new Set(readdirSync(dir));
  for (const name of Object.keys(files)) {
    if (!entries.has(name)) symlinkSync(join(DATA_LINK, name), join(dir, name));
  }
  if (previous !== undefined && previous !== version) rmSync(join(dir, previous), { recursive: true, force: true });
}
