// Catalog's server entry point: configuration from the environment, migrations, then serve.
import { initTracing, runMain, serve } from "@mesh/service-kit";
import { buildCatalogApp, migrateCatalog } from "./app.js";
import { readCatalogConfig } from "./config.js";

await runMain(async () => {
  const config = readCatalogConfig(process.env);
  const tracing = initTracing(config);
  const app = await buildCatalogApp(config);
  await migrateCatalog(config, app.log);
  await serve(app, config, tracing);
});
