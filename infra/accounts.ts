// The account names the data stores and Grafana are set up with, on every target;
// their passwords are the stack's (infra/mesh-secrets.ts), never here.
export const POSTGRES_SUPERUSER = "postgres";
/** The database every service uses, and the unprivileged role the apps log in as. */
export const POSTGRES_DATABASE = "mesh";
export const POSTGRES_APP_USER = "mesh_app";
export const RABBITMQ_USER = "mesh";
export const GRAFANA_ADMIN_USER = "admin";
