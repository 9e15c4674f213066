// Fixed NodePorts for what the host reaches on a kind cluster; kind-cluster.yaml
// maps each to a host port (extraPortMappings). Keep the two in step (a test checks).
export const NODE_PORTS = {
  gateway: 30080,
  gatewayHttps: 30443,
  prometheus: 30090,
  grafana: 30300,
  zipkin: 30411,
} as const;
