// Passwords the local runner generates for one run: the apps' Postgres role, the
// private Redis and the run's RabbitMQ user. 144 random bits as hex: letters and
// digits only, so they go into connection URLs, psql and rabbitmqctl unescaped.
import { randomBytes } from "node:crypto";

export function runPassword(): string {
  return randomBytes(18).toString("hex");
}
