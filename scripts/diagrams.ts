// Regenerates the Mermaid diagrams in README.md from the mesh model.
import { readFileSync, writeFileSync } from "node:fs";
import { withDiagrams } from "../tools/diagrams.js";
import { buildMeshModel } from "../infra/model.js";

const readme = new URL("../README.md", import.meta.url);
writeFileSync(readme, withDiagrams(readFileSync(readme, "utf8"), buildMeshModel()));
console.log("README.md diagrams regenerated");
