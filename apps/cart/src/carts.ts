// Carts in Redis: one hash per cart (field = productId, value = quantity). A
// write is one Lua script: the size check, the change, the TTL refresh and the
// read-back run atomically, so concurrent writers never see a half-applied change,
// never push a cart past its size cap together, and the answer is the cart as written.
import { ConflictError } from "@mesh/service-kit";
import type { RedisClient } from "@mesh/service-kit/redis";
import { MAX_CART_ITEMS, type Cart } from "./schemas.js";

/** The names the store's Redis calls are timed and counted under. */
export const CART_COMMANDS = { get: "hgetall", setItem: "cart.set_item", removeItem: "cart.remove_item", remove: "del" } as const;

/**
 * KEYS[1] the cart; ARGV: product id, quantity (0 removes), TTL seconds, item cap.
 * Returns the cart's hash as a flat [field, value, ...] list, or nil when adding a
 * new product would exceed the cap (nothing is changed then).
 */
const SET_ITEM_SCRIPT = `
local key, product, quantity = KEYS[1], ARGV[1], tonumber(ARGV[2])
if quantity == 0 then
  redis.call('HDEL', key, product)
else
  if redis.call('HEXISTS', key, product) == 0 and redis.call('HLEN', key) >= tonumber(ARGV[4]) then return nil end
  redis.call('HSET', key, product, quantity)
end
redis.call('EXPIRE', key, ARGV[3])
return redis.call('HGETALL', key)`;

type Redis = RedisClient["redis"];
type CartRedis = Redis & { cartSetItem(key: string, product: string, quantity: number, ttlSeconds: number, cap: number): Promise<string[] | null> };

/** The client with the cart's script defined on it (as `cartSetItem`); the bench runs the same script raw. */
export function withCartScripts(redis: Redis): CartRedis {
  // ioredis runs it by EVALSHA and loads it again when the server lost its script cache (a restart).
  if (!("cartSetItem" in redis)) redis.defineCommand("cartSetItem", { numberOfKeys: 1, lua: SET_ITEM_SCRIPT });
  return redis as CartRedis;
}

function pairs(flat: readonly string[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  return hash;
}

function toCart(cartId: string, hash: Record<string, string>): Cart {
  const items = Object.entries(hash)
    .map(([productId, quantity]) => ({ productId, quantity: Number(quantity) }))
    .sort((a, b) => a.productId.localeCompare(b.productId));
  return { cartId, items };
}

export function cartStore(client: RedisClient, options: { keyPrefix: string; ttlSeconds: number }) {
  const key = (cartId: string) => `${options.keyPrefix}${cartId}`;
  return {
    async get(cartId: string): Promise<Cart> {
      return toCart(cartId, await client.run(CART_COMMANDS.get, (redis) => redis.hgetall(key(cartId))));
    },
    /** Sets one item's quantity; 0 removes it. A new product in a cart that holds MAX_CART_ITEMS already is a 409. */
    async setQuantity(cartId: string, productId: string, quantity: number): Promise<Cart> {
      const hash = await client.run(quantity === 0 ? CART_COMMANDS.removeItem : CART_COMMANDS.setItem, (redis) =>
        withCartScripts(redis).cartSetItem(key(cartId), productId, quantity, options.ttlSeconds, MAX_CART_ITEMS),
      );
      if (hash === null) throw new ConflictError(`cart ${cartId} holds ${MAX_CART_ITEMS} products already: remove one before adding another`);
      return toCart(cartId, pairs(hash));
    },
    async remove(cartId: string): Promise<void> {
      await client.run(CART_COMMANDS.remove, (redis) => redis.del(key(cartId)));
    },
  };
}
