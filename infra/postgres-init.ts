// First-start script for the Postgres image (/docker-entrypoint-initdb.d): the
// apps log in as an unprivileged role that owns the mesh database, never as the
// superuser. The password arrives through the environment, never in the script.
import { POSTGRES_APP_USER, POSTGRES_DATABASE } from "./mesh-secrets.js";

export const POSTGRES_INIT_SCRIPT_NAME = "10-app-role.sh";
/** Environment variable the script reads the app role's password from. */
export const POSTGRES_APP_PASSWORD_ENV = "APP_DB_PASSWORD";

export const postgresInitScript = `#!/bin/sh
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \\
  -v app_password="$${POSTGRES_APP_PASSWORD_ENV}" <<'SQL'
CREATE ROLE ${POSTGRES_APP_USER} LOGIN PASSWORD :'app_password';
ALTER DATABASE ${POSTGRES_DATABASE} OWNER TO ${POSTGRES_APP_USER};
ALTER SCHEMA public OWNER TO ${POSTGRES_APP_USER};
SQL
`;
