// The apps' and stores' environments as the plan states them: plain values and
// secrets by the password they need, never a password itself.
import { describe, expect, it } from "vitest";
import { appEnvironment, dataStoreUrl } from "./app-environment.js";
import { dataStorePlan } from "./data-store-plan.js";
import { type EnvEntry, envValues } from "./environment.js";
import { DATA_STORE_NAMES, buildMeshModel, getService } from "./model.js";

const model = buildMeshModel();
const PASSWORDS = { postgresApp: "pg-app-pw", redis: "redis-pw", rabbitmq: "rabbit-pw" };

function secretNames(env: readonly EnvEntry[]): Record<string, string> {
  return Object.fromEntries(env.flatMap((e) => ("secret" in e ? [[e.name, e.secret.password]] : [])));
}

describe("the plan's environments", () => {
  it("name the app's connection URLs as secrets by the password each carries, and no other", () => {
    const env = appEnvironment(model, getService(model, "orders"), "127.0.0.1", "warn");
    expect(secretNames(env)).toEqual({ DATABASE_URL: "postgresApp", AMQP_URL: "rabbitmq" });
    expect(secretNames(appEnvironment(model, getService(model, "cart"), "127.0.0.1", "warn"))).toEqual({ REDIS_URL: "redis" });
    // Nothing in the plan holds a value of a password.
    expect(JSON.stringify(env)).not.toMatch(/pw/);
  });

  it("resolve to the URLs the apps connect with, on the stack's broker account or a run's own", () => {
    const orders = getService(model, "orders");
    const stack = envValues(appEnvironment(model, orders, "127.0.0.7", "info"), PASSWORDS);
    expect(stack.DATABASE_URL).toBe("postgres://mesh_app:pg-app-pw@127.0.0.7:5432/mesh");
    expect(stack.AMQP_URL).toBe("amqp://mesh:rabbit-pw@127.0.0.7:5672");
    expect(stack.SERVICE_NAME).toBe("orders");
    expect(stack.CATALOG_URL).toMatch(/^http:\/\/127\.0\.0\.7:\d+$/);
    const run = envValues(appEnvironment(model, orders, "127.0.0.7", "info", { user: "run-1", vhost: "run-1" }), PASSWORDS);
    expect(run.AMQP_URL).toBe("amqp://run-1:rabbit-pw@127.0.0.7:5672/run-1");
    expect(dataStoreUrl("redis", "127.0.0.7:6379", "x")).toBe("redis://:x@127.0.0.7:6379");
  });

  it("say which variable needs which password when it is missing", () => {
    const env = appEnvironment(model, getService(model, "orders"), "127.0.0.1", "warn");
    expect(() => envValues(env, { postgresApp: "p" })).toThrow("AMQP_URL needs the rabbitmq password, and none was given");
  });

  it("keep every store's passwords secret by name, its settings plain", () => {
    for (const store of DATA_STORE_NAMES) {
      for (const entry of dataStorePlan(store).env) {
        if ("value" in entry) expect(entry.name, store).not.toMatch(/PASS|AUTH/);
      }
    }
    expect(secretNames(dataStorePlan("postgres").env)).toEqual({ POSTGRES_PASSWORD: "postgresSuperuser", APP_DB_PASSWORD: "postgresApp" });
  });
});
