import { startLocalMesh } from "/work/main/infra/local/mesh.ts";
const mesh = await startLocalMesh({ stateDir: "/tmp/dbg-mesh", build: false, traffic: { canaries: { catalog: { weightPercent: 10, replicas: 1 } }, faults: {}, rateLimits: {} } });
const admin = mesh.endpoints.admin["edge-0"];
console.log("before", await (await fetch(`${admin}/stats?filter=version_text$`)).text());
try { await mesh.setTraffic({ canaries: { catalog: { weightPercent: 50, replicas: 1 } }, faults: {}, rateLimits: {} }); console.log("applied ok"); } catch (e) { console.log(String(e)); }
console.log("after", await (await fetch(`${admin}/stats?filter=version_text$`)).text());
console.log(await (await fetch(`${admin}/stats?filter=(rds|cds)\\.update`)).text());
await mesh.stop();
