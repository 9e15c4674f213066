// Redis with a password on both targets. The password reaches the container in
// one environment variable, REDISCLI_AUTH (from a Pulumi secret: an encrypted
// env entry on Docker, a Secret on Kubernetes), never on a command line, where
// `docker inspect` and `ps` would show it. redis-cli reads that variable by
// itself, so the health checks authenticate without naming the password; the
// server reads it from its start command's here-document: `redis-server -` takes
// extra configuration on stdin, and the shell expands the variable into that
// here-document only (dash, the image's sh, feeds it through a pipe), so it
// lands neither in argv nor on disk.
// A config file uploaded from the secret is not an option on Docker: the engine
// refuses to copy files into a read-only root filesystem outside a volume.

/** The variable redis-cli reads its password from; the start command reads it too. */
export const REDIS_PASSWORD_ENV = "REDISCLI_AUTH";

/**
 * `redis-server - <options>` as the shell's replacement (exec: it is PID 1 in
 * a container and gets the stop signal), requiring the password from the
 * environment. The program comes in as $0 and the options as "$@", so the local
 * runner starts its Redis with this very command. Protected mode only guards a
 * server without a password, so it needs no flag.
 */
export function redisServerCommand(redisServer: string, options: readonly string[]): [string, ...string[]] {
  return ["sh", "-c", `exec "$0" - "$@" <<EOF\nrequirepass $${REDIS_PASSWORD_ENV}\nEOF\n`, redisServer, ...options];
}

/**
 * PONG only with the right password: redis-cli exits 0 even on a NOAUTH or
 * WRONGPASS reply, so the check looks at the answer, not the exit status.
 */
export const redisHealthCheck = ["sh", "-c", "redis-cli ping | grep -qx PONG"];
