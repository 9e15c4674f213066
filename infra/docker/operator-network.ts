// Each Docker proxy replica gets its own "operator network": a small bridge that
// only that proxy joins. Its admin interface binds to the proxy's fixed address
// there, so Docker can publish it on the host's 127.0.0.1 while no other
// container can reach it (they share no network with that address).
import { MAX_REPLICAS } from "../config.js";
import { EDGE_PROXY, SERVICE_NAMES, sidecarName } from "../model.js";

/** Address block of every operator network: one /29 per possible proxy replica. */
export const OPERATOR_NETWORK_BLOCK = "10.201.0.0/22";
const BLOCK_BASE = [10, 201, 0, 0] as const;
const SUBNET_SIZE = 8;

export interface OperatorSubnet {
  readonly subnet: string;
  readonly gateway: string;
  /** The proxy's own address, where its admin interface listens. */
  readonly proxyAddress: string;
}

/** A stable slot per proxy replica, independent of how many replicas others run. */
function slot(proxy: string, replica: number): number {
  if (!Number.isInteger(replica) || replica < 0 || replica >= MAX_REPLICAS) {
    throw new Error(`proxy replica ${replica} of "${proxy}" is outside 0..${MAX_REPLICAS - 1}`);
  }
  const proxies = [EDGE_PROXY, ...SERVICE_NAMES.map(sidecarName)];
  const index = proxies.indexOf(proxy);
  if (index < 0) throw new Error(`unknown proxy "${proxy}"`);
  return index * MAX_REPLICAS + replica;
}

function address(offset: number): string {
  const [a, b] = BLOCK_BASE;
  return `${a}.${b}.${Math.floor(offset / 256)}.${offset % 256}`;
}

export function operatorSubnet(proxy: string, replica: number): OperatorSubnet {
  const base = slot(proxy, replica) * SUBNET_SIZE;
  return { subnet: `${address(base)}/29`, gateway: address(base + 1), proxyAddress: address(base + 2) };
}
