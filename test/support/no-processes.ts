// The fast lane's guard (vitest.fast.config.ts): every way of starting a process
// throws, so a suite that starts one fails there, naming the call, instead of
// making the lane slow or dependent on the machine.
import { createRequire, syncBuiltinESMExports } from "node:module";

const childProcess = createRequire(import.meta.url)("node:child_process") as Record<string, unknown>;
for (const name of ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"]) {
  childProcess[name] = () => {
    throw new Error(`child_process.${name}: the fast lane starts no process; move this suite out of FAST_SUITES (test/lanes.ts)`);
  };
}
// Named imports of node:child_process see the replacements too.
syncBuiltinESMExports();
