// The mesh's credentials, shared by both targets: provided by the stack (its
// encrypted config) or generated, one by one. Every value leaves this module
// wrapped in pulumi.secret, so it stays encrypted in state and masked in logs
// wherever it flows (env vars, Kubernetes Secrets, connection URLs).
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { PasswordName, StackSettings } from "./config.js";
import { type EnvEntry, type SecretRef, secretValue } from "./environment.js";

export class MeshSecrets extends pulumi.ComponentResource {
  readonly postgresSuperuserPassword: pulumi.Output<string>;
  readonly postgresAppPassword: pulumi.Output<string>;
  readonly rabbitmqPassword: pulumi.Output<string>;
  /** Redis's requirepass (Redis has no user names here: the default user). */
  readonly redisPassword: pulumi.Output<string>;
  /** Only where the stack runs Grafana. */
  readonly grafanaAdminPassword: pulumi.Output<string> | undefined;
  /** The seed of the mesh's generated CA (infra/pki: everything about it derives from the seed); none with a provided CA. */
  readonly meshCaSeed: pulumi.Output<string> | undefined;

  constructor(name: string, provided: StackSettings["passwords"], withGrafana: boolean, withOwnCa: boolean, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:index:Secrets", name, {}, opts);
    // Alphanumeric only: the values go into URLs and shell-free env vars unescaped.
    // A provided password declares no random resource at all.
    const password = (what: PasswordName) => {
      const given = provided[what];
      if (given !== undefined) return pulumi.secret(given);
      const resourceName = `${name}-${what.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      return pulumi.secret(new random.RandomPassword(resourceName, { length: 32, special: false }, { parent: this }).result);
    };
    this.postgresSuperuserPassword = password("postgresSuperuser");
    this.postgresAppPassword = password("postgresApp");
    this.rabbitmqPassword = password("rabbitmq");
    this.redisPassword = password("redis");
    this.grafanaAdminPassword = withGrafana ? password("grafanaAdmin") : undefined;
    this.meshCaSeed = withOwnCa ? undefined : password("meshCa");
    this.registerOutputs({});
  }

  /** A password by its stack name; an error names what the stack does not run. */
  password(name: PasswordName): pulumi.Output<string> {
    const passwords: Record<PasswordName, pulumi.Output<string> | undefined> = {
      postgresSuperuser: this.postgresSuperuserPassword,
      postgresApp: this.postgresAppPassword,
      rabbitmq: this.rabbitmqPassword,
      redis: this.redisPassword,
      grafanaAdmin: this.grafanaAdminPassword,
      meshCa: this.meshCaSeed,
    };
    const password = passwords[name];
    if (password === undefined) throw new Error(`the stack has no ${name} password (${name === "grafanaAdmin" ? "mesh:grafana is false" : "it provides its own CA"})`);
    return password;
  }

  /** A secret variable's value, secret through its password. */
  value(ref: SecretRef): pulumi.Output<string> {
    return this.password(ref.password).apply((password) => secretValue(ref, password));
  }

  /** The secret variables of an environment, by name: what a target's secret store holds. */
  values(env: readonly EnvEntry[]): Record<string, pulumi.Output<string>> {
    return Object.fromEntries(env.flatMap((e) => ("secret" in e ? [[e.name, this.value(e.secret)]] : [])));
  }
}
