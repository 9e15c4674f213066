// The cart app: carts in Redis, built on the shared kit.
import { createServiceApp, type ServiceApp } from "@mesh/service-kit";
import { createRedis, redisPlugin } from "@mesh/service-kit/redis";
import type { CartConfig } from "./config.js";
import { CART_COMMANDS, cartStore } from "./carts.js";
import { cartRoutes } from "./routes/carts.js";

export async function buildCartApp(config: CartConfig): Promise<ServiceApp> {
  const { app, registry } = await createServiceApp({ config });
  const client = createRedis({ url: config.redisUrl, registry, logger: app.log, commands: Object.values(CART_COMMANDS) });
  await app.register(redisPlugin, { client });
  const carts = cartStore(client, { keyPrefix: config.keyPrefix, ttlSeconds: config.cartTtlSeconds });

  await app.register(cartRoutes(carts), { prefix: "/carts" });

  return app;
}
