// Carts in Redis: one hash per cart (field = productId, value = quantity). Every
// write runs in one MULTI with the TTL refresh and the read-back, so concurrent
// writers never see a half-applied change and the answer is the cart as written.
import type { RedisClient } from "@mesh/service-kit";
import type { Cart } from "./schemas.js";

/** The names the store's Redis calls are timed and counted under. */
export const CART_COMMANDS = { get: "hgetall", setItem: "cart.set_item", removeItem: "cart.remove_item", remove: "del" } as const;

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
    /** Sets one item's quantity; 0 removes it. */
    async setQuantity(cartId: string, productId: string, quantity: number): Promise<Cart> {
      const results = await client.run(quantity === 0 ? CART_COMMANDS.removeItem : CART_COMMANDS.setItem, (redis) => {
        const tx = redis.multi();
        if (quantity === 0) tx.hdel(key(cartId), productId);
        else tx.hset(key(cartId), productId, quantity);
        return tx.expire(key(cartId), options.ttlSeconds).hgetall(key(cartId)).exec();
      });
      const readBack = results?.[2];
      if (!results || !readBack || readBack[0]) throw readBack?.[0] ?? new Error("redis transaction aborted");
      return toCart(cartId, readBack[1] as Record<string, string>);
    },
    async remove(cartId: string): Promise<void> {
      await client.run(CART_COMMANDS.remove, (redis) => redis.del(key(cartId)));
    },
  };
}
