// Regenerates docs/openapi.json: starts the local mesh (npm run mesh:local's runner),
// reads each API service's document from its app, merges them under the edge's
// public paths, writes the file, stops the mesh. test/e2e/public-api.test.ts fails when
// the committed file differs from what the running services serve.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalMesh, type LocalMesh } from "../../infra/local/mesh.js";
import type { ServiceName } from "../../infra/model.js";
import { fetchServiceDocuments, publicApiDocument } from "./public-api.js";

export const PUBLIC_API_FILE = "docs/openapi.json";

/** The app URL of a service's first replica (its sidecar's ingress takes mesh certificates only). */
export function firstApp(mesh: LocalMesh, service: ServiceName): string {
  const replica = mesh.endpoints.replicas.find((r) => r.service === service);
  if (!replica) throw new Error(`the local mesh runs no replica of ${service}`);
  return replica.app;
}

export function serialise(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), "mesh-openapi-"));
  const mesh = await startLocalMesh({ stateDir, onProgress: (m) => console.log(`[openapi] ${m}`) });
  try {
    const document = publicApiDocument(mesh.model, await fetchServiceDocuments(mesh.model, (service) => firstApp(mesh, service)));
    writeFileSync(PUBLIC_API_FILE, serialise(document));
    console.log(`[openapi] wrote ${PUBLIC_API_FILE}: ${Object.keys(document.paths).length} paths`);
  } finally {
    await mesh.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
