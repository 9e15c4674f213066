// Cart's start-up settings: the shared ones plus Redis.
import { optionalInt, optionalString, readBaseConfig, requiredUrl, type BaseConfig, type Env } from "@mesh/service-kit";

export interface CartConfig extends BaseConfig {
  readonly redisUrl: string;
  /** REDIS_KEY_PREFIX: namespace for cart keys (default "cart:"). */
  readonly keyPrefix: string;
  /** CART_TTL_SECONDS: a cart expires this long after its last change (default 7 days). */
  readonly cartTtlSeconds: number;
}

export function readCartConfig(env: Env): CartConfig {
  return {
    ...readBaseConfig(env, "cart"),
    redisUrl: requiredUrl(env, "REDIS_URL", ["redis:", "rediss:"]),
    keyPrefix: optionalString(env, "REDIS_KEY_PREFIX", "cart:"),
    cartTtlSeconds: optionalInt(env, "CART_TTL_SECONDS", 7 * 24 * 3600, 1, 365 * 24 * 3600),
  };
}
