// Generated credentials, shared by both targets. Every value leaves this module
// wrapped in pulumi.secret, so it stays encrypted in state and masked in logs
// wherever it flows (env vars, Kubernetes Secrets, connection URLs).
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

export const POSTGRES_SUPERUSER = "postgres";
/** The database every service uses, and the unprivileged role the apps log in as. */
export const POSTGRES_DATABASE = "mesh";
export const POSTGRES_APP_USER = "mesh_app";
export const RABBITMQ_USER = "mesh";
export const GRAFANA_ADMIN_USER = "admin";

export class MeshSecrets extends pulumi.ComponentResource {
  readonly postgresSuperuserPassword: pulumi.Output<string>;
  readonly postgresAppPassword: pulumi.Output<string>;
  readonly rabbitmqPassword: pulumi.Output<string>;
  /** Redis's requirepass (Redis has no user names here: the default user). */
  readonly redisPassword: pulumi.Output<string>;
  readonly grafanaAdminPassword: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("mesh:index:Secrets", name, {}, opts);
    // Alphanumeric only: the values go into URLs and shell-free env vars unescaped.
    const password = (what: string) =>
      pulumi.secret(new random.RandomPassword(`${name}-${what}`, { length: 32, special: false }, { parent: this }).result);
    this.postgresSuperuserPassword = password("postgres-superuser");
    this.postgresAppPassword = password("postgres-app");
    this.rabbitmqPassword = password("rabbitmq");
    this.redisPassword = password("redis");
    this.grafanaAdminPassword = password("grafana-admin");
    this.registerOutputs({});
  }
}
