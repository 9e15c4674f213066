// One HTTP/1.1 request from bash alone, over its /dev/tcp: the Envoy image has bash but
// no curl, and the kubelet's and Docker's own checks cannot reach an address on the pod
// loopback. The snippet leaves the connection open on file descriptor 3 for the caller
// to read the answer from.
import type { HostPort } from "./addressing.js";

export function bashHttpRequest(method: "GET" | "POST", path: string, { address, port }: HostPort): string {
  const body = method === "POST" ? "Content-Length: 0\\r\\n" : "";
  const request = `${method} ${path} HTTP/1.1\\r\\nHost: ${address}\\r\\n${body}Connection: close\\r\\n\\r\\n`;
  return `exec 3<>/dev/tcp/${address}/${port} && printf '${request}' >&3`;
}
