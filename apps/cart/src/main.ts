// Cart's server entry point: configuration from the environment, then serve.
import { initTracing, runMain, serve } from "@mesh/service-kit";
import { buildCartApp } from "./app.js";
import { readCartConfig } from "./config.js";

await runMain(async () => {
  const config = readCartConfig(process.env);
  const tracing = initTracing(config);
  await serve(await buildCartApp(config), config, tracing);
});
