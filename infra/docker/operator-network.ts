// Each Docker proxy replica gets its own "operator network": a small bridge that
// only that proxy joins. Its admin interface binds to the proxy's fixed address
// there, so Docker can publish it on the host's 127.0.0.1 while no other
// container can reach it (they share no network with that address).
import { proxySlot } from "../config.js";

/** Address block of every operator network: one /29 per possible proxy replica. */
export const OPERATOR_NETWORK_BLOCK = "10.201.0.0/22";
const SUBNET_SIZE = 8;

/** The block's first address as a 32-bit number, and how many addresses it holds. */
function parseBlock(cidr: string): { base: number; size: number } {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  const octets = match?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(match?.[5]);
  if (octets.length !== 4 || octets.some((o) => o > 255) || !(prefix >= 0 && prefix <= 29)) {
    throw new Error(`operator network block "${cidr}" is not an IPv4 CIDR of /29 or larger`);
  }
  const size = 2 ** (32 - prefix);
  const base = octets.reduce((n, o) => n * 256 + o, 0);
  if (base % size !== 0) throw new Error(`operator network block "${cidr}" does not start on its prefix boundary`);
  return { base, size };
}
const BLOCK = parseBlock(OPERATOR_NETWORK_BLOCK);

export interface OperatorSubnet {
  readonly subnet: string;
  readonly gateway: string;
  /** The proxy's own address, where its admin interface listens. */
  readonly proxyAddress: string;
}

function address(offset: number): string {
  const n = BLOCK.base + offset;
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

export function operatorSubnet(proxy: string, replica: number): OperatorSubnet {
  const base = proxySlot(proxy, replica) * SUBNET_SIZE;
  if (base + SUBNET_SIZE > BLOCK.size) {
    throw new Error(`operator network block ${OPERATOR_NETWORK_BLOCK} has no room for replica ${replica} of "${proxy}"`);
  }
  return { subnet: `${address(base)}/29`, gateway: address(base + 1), proxyAddress: address(base + 2) };
}
