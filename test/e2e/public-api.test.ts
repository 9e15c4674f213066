// The public API against its OpenAPI document, on a live local mesh: each API service
// serves its own document through its sidecar; merged under the edge's paths they are
// exactly the committed docs/openapi.json; and schemathesis, fuzzing through the edge
// with that document (examples, coverage, fuzzing and the document's links for stateful
// sequences), finds no server error, no undocumented status, no answer outside its
// schema or content type, and no schema-invalid request accepted.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, startLocalMesh, type LocalMesh } from "../../infra/local/mesh.js";
import { fetchServiceDocuments, publicApiDocument, SERVICE_DOCUMENT_PATH } from "../../tools/openapi/public-api.js";
import { firstApp, PUBLIC_API_FILE, serialise } from "../../tools/openapi/update.js";
import { requireBinary } from "../support/process.js";

const run = promisify(execFile);

/**
 * What schemathesis checks. Left out: positive_data_acceptance, because schema-valid
 * orders are refused by rules no schema states (422 for a product that does not
 * exist, 422 for an Idempotency-Key reused with another body).
 */
const FUZZ_CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance", "negative_data_rejection"];
/** Test cases per operation and phase: bounded, so CI's run takes about a minute. */
const FUZZ_EXAMPLES_PER_OPERATION = 40;
/** Fixed, so CI is repeatable; run with another seed (`st run --seed N`) to explore further. */
const FUZZ_SEED = 20261202;

let mesh: LocalMesh;
const stateDir = mkdtempSync(join(tmpdir(), "mesh-api-"));
const reportDir = mkdtempSync(join(tmpdir(), "mesh-schemathesis-"));

beforeAll(async () => {
  mesh = await startLocalMesh({ stateDir });
}, 240_000);

afterAll(async () => {
  await mesh?.stop();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(reportDir, { recursive: true, force: true });
});

describe("the public API and its OpenAPI document", () => {
  it("is what the services serve through their sidecars, merged under the edge's paths", async () => {
    const documents = await fetchServiceDocuments(mesh.model, (service) => firstApp(mesh, service));
    for (const [service, document] of documents) {
      expect(document.openapi, `${service}${SERVICE_DOCUMENT_PATH}`).toBe("3.1.0");
    }
    const committed = readFileSync(join(PROJECT_ROOT, PUBLIC_API_FILE), "utf8");
    expect(serialise(publicApiDocument(mesh.model, documents)), `${PUBLIC_API_FILE} is stale: run npm run openapi:update`).toBe(committed);
  });

  it("survives schemathesis through the edge with no finding", async () => {
    const st = requireBinary("schemathesis (st)", join(process.env.MESH_TOOLS ?? join(PROJECT_ROOT, ".tools"), "venv", "bin", "st"));
    const args = [
      "run",
      join(PROJECT_ROOT, PUBLIC_API_FILE),
      "--url",
      mesh.endpoints.gateway,
      "--checks",
      FUZZ_CHECKS.join(","),
      "--phases",
      "examples,coverage,fuzzing,stateful",
      "--max-examples",
      String(FUZZ_EXAMPLES_PER_OPERATION),
      "--seed",
      String(FUZZ_SEED),
      "--workers",
      "1",
      "--request-timeout",
      "15",
      "--generation-database",
      "none",
      "--no-color",
      "--report",
      "junit",
      "--report-dir",
      reportDir,
    ];
    const result = await run(st, args, { cwd: reportDir, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, output: `${err.stdout ?? ""}${err.stderr ?? ""}` }),
    );
    expect(result.code, result.output).toBe(0);
    // It really tested: every operation, and stateful sequences along the document's links.
    expect(result.output).toMatch(/Tested: 10\b/);
    expect(result.output).toMatch(/API Links: +\d+ covered/);
  }, 600_000);
});
