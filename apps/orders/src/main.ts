// Orders' server entry point: configuration from the environment, migrations, then serve.
import { initTracing, runMain, serve } from "@mesh/service-kit";
import { buildOrdersApp, migrateOrders } from "./app.js";
import { readOrdersConfig } from "./config.js";

await runMain(async () => {
  const config = readOrdersConfig(process.env);
  const tracing = initTracing(config);
  const app = await buildOrdersApp(config);
  await migrateOrders(config, app.log);
  await serve(app, config, tracing);
});
