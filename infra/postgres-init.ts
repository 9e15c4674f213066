// The apps log in as an unprivileged role that owns the mesh database, never as
// the superuser: the SQL that creates it, run at the first start of the Postgres
// image (/docker-entrypoint-initdb.d) and by the local runner alike. The password
// arrives as a psql variable, never in the SQL.
import { POSTGRES_APP_USER, POSTGRES_DATABASE } from "./accounts.js";

export const POSTGRES_INIT_SCRIPT_NAME = "10-app-role.sh";
/** Environment variable the script reads the app role's password from. */
export const POSTGRES_APP_PASSWORD_ENV = "APP_DB_PASSWORD";

/** Run by a superuser in database POSTGRES_DATABASE, with the psql variable app_password set. */
export const APP_ROLE_SQL = `CREATE ROLE ${POSTGRES_APP_USER} LOGIN PASSWORD :'app_password';
ALTER DATABASE ${POSTGRES_DATABASE} OWNER TO ${POSTGRES_APP_USER};
ALTER SCHEMA public OWNER TO ${POSTGRES_APP_USER};
`;

export const postgresInitScript = `#!/bin/sh
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \\
  -v app_password="$${POSTGRES_APP_PASSWORD_ENV}" <<'SQL'
${APP_ROLE_SQL}SQL
`;
