// The worker's entry point: configuration from the environment, migrations, then consume and serve health.
import { initTracing, runMain, serve } from "@mesh/service-kit";
import { buildWorkerApp, migrateWorker } from "./app.js";
import { readWorkerConfig } from "./config.js";

await runMain(async () => {
  const config = readWorkerConfig(process.env);
  const tracing = initTracing(config);
  const app = await buildWorkerApp(config);
  await migrateWorker(config, app.log);
  await serve(app, config, tracing);
});
