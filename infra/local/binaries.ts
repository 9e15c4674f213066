// The programs the local runner needs, found up front so a missing one fails
// with the name of the script that installs it rather than halfway through.
import { accessSync, constants, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";

const SETUP_HINT = 'run "bash scripts/setup.sh", then "source scripts/env.sh"';

export interface Binaries {
  readonly envoy: string;
  readonly java: string;
  readonly zipkinJar: string;
  readonly prometheus: string;
  readonly dnsmasq: string;
  readonly postgresBin: string;
  readonly redisServer: string;
  readonly rabbitmqctl: string;
  readonly setpriv: string;
  readonly node: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, extraDirs: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), ...extraDirs];
  return dirs.map((d) => join(d, name)).find(executable);
}

function required(what: string, path: string | undefined): string {
  if (!path) throw new Error(`${what} not found: ${SETUP_HINT}`);
  return path;
}

/** Newest installed Postgres server's bin directory (Debian keeps them per major version). */
function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  let versions: string[];
  try {
    versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    return undefined;
  }
  return versions.map((v) => join(root, v, "bin")).find((dir) => executable(join(dir, "postgres")) && executable(join(dir, "initdb")));
}

export function findBinaries(env: NodeJS.ProcessEnv = process.env): Binaries {
  const sbin = ["/usr/sbin", "/sbin"];
  const zipkinJar = env.ZIPKIN_JAR;
  let jarPresent = false;
  if (zipkinJar) {
    try {
      accessSync(zipkinJar, constants.R_OK);
      jarPresent = true;
    } catch {
      jarPresent = false;
    }
  }
  return {
    envoy: required("envoy ($ENVOY_BIN)", env.ENVOY_BIN && executable(env.ENVOY_BIN) ? env.ENVOY_BIN : onPath("envoy")),
    java: required("java (Java 17)", onPath("java")),
    zipkinJar: required("the Zipkin server jar ($ZIPKIN_JAR)", jarPresent ? zipkinJar : undefined),
    prometheus: required("prometheus", onPath("prometheus")),
    dnsmasq: required("dnsmasq (Debian dnsmasq-base)", onPath("dnsmasq", sbin)),
    postgresBin: required("the Postgres server (initdb, postgres)", postgresBinDir()),
    redisServer: required("redis-server", onPath("redis-server")),
    rabbitmqctl: required("rabbitmqctl", onPath("rabbitmqctl", sbin)),
    setpriv: required("setpriv (util-linux)", onPath("setpriv")),
    node: process.execPath,
  };
}
