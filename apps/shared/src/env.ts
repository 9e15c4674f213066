// Start-up configuration from environment variables. Every value is validated
// once, at start-up, and a bad or missing one stops the process with an error
// that names the variable, so a misconfigured container fails loudly and early.

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`environment variable ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

export function requiredString(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(name, "is required but not set");
  return value;
}

export function optionalString(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

export function optionalInt(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** "true"/"false" (also 1/0, yes/no, on/off), any case; unset means `fallback`. */
export function optionalBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (["true", "1", "yes", "on"].includes(raw)) return true;
  if (["false", "0", "no", "off"].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

/** A URL with one of `protocols` (e.g. "postgres:"); the value itself is never echoed, it may hold a password. */
export function requiredUrl(env: Env, name: string, protocols: readonly string[]): string {
  const value = requiredString(env, name);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, "is not a valid URL");
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(name, `must use ${protocols.join(" or ")}, got ${url.protocol}`);
  return value;
}

export function optionalUrl(env: Env, name: string, protocols: readonly string[]): string | undefined {
  return env[name]?.trim() ? requiredUrl(env, name, protocols) : undefined;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Settings every service shares: the environment both targets and the local runner give each app. */
export interface BaseConfig {
  readonly serviceName: string;
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  /** Zipkin v2 spans endpoint; tracing export is off when unset. */
  readonly zipkinUrl: string | undefined;
  /**
   * METRICS_ENABLED (default true): false drops the HTTP request histogram, the
   * process metrics and the /metrics route, e.g. to measure what metrics cost.
   * Optional so hand-built configs (tests) keep metrics on.
   */
  readonly metricsEnabled?: boolean;
  /** Upper bound for a graceful shutdown before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
}

export function readBaseConfig(env: Env, defaultServiceName: string): BaseConfig {
  const logLevel = optionalString(env, "LOG_LEVEL", "info");
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  return {
    serviceName: optionalString(env, "SERVICE_NAME", defaultServiceName),
    host: optionalString(env, "HOST", "127.0.0.1"),
    port: optionalInt(env, "PORT", 3000, 0, 65_535),
    logLevel: logLevel as LogLevel,
    zipkinUrl: optionalUrl(env, "ZIPKIN_URL", ["http:", "https:"]),
    metricsEnabled: optionalBoolean(env, "METRICS_ENABLED", true),
    shutdownTimeoutMs: optionalInt(env, "SHUTDOWN_TIMEOUT_MS", 10_000, 100, 120_000),
  };
}

/** Settings every service with a Postgres database shares. */
export interface DatabaseConfig {
  readonly databaseUrl: string;
  /** DB_POOL_MAX: connections per replica (default 10). */
  readonly dbPoolMax: number;
}

export function readDatabaseConfig(env: Env): DatabaseConfig {
  return {
    databaseUrl: requiredUrl(env, "DATABASE_URL", ["postgres:", "postgresql:"]),
    dbPoolMax: optionalInt(env, "DB_POOL_MAX", 10, 1, 100),
  };
}
