// RabbitMQ for one run: a vhost of its own on the machine's RabbitMQ (from
// scripts/setup.sh), deleted at stop. A private RabbitMQ node costs seconds of
// Erlang start-up per run; a vhost isolates queues just as well.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The machine's RabbitMQ listens on 127.0.0.1 (scripts/start-datastores.sh). */
export const SHARED_RABBITMQ_HOST = "127.0.0.1";
export const RABBITMQ_USER = "guest";
export const RABBITMQ_PASSWORD = "guest";

export class RabbitVhost {
  private created = false;

  constructor(
    private readonly rabbitmqctl: string,
    readonly vhost: string,
  ) {}

  async create(): Promise<void> {
    try {
      await run(this.rabbitmqctl, ["-q", "add_vhost", this.vhost]);
      this.created = true;
      await run(this.rabbitmqctl, ["-q", "set_permissions", "-p", this.vhost, RABBITMQ_USER, ".*", ".*", ".*"]);
    } catch (err) {
      throw new Error(`cannot set up RabbitMQ vhost "${this.vhost}" (is RabbitMQ running? "bash scripts/start-datastores.sh" starts it): ${(err as Error).message}`, { cause: err });
    }
  }

  async remove(): Promise<void> {
    if (!this.created) return;
    await run(this.rabbitmqctl, ["-q", "delete_vhost", this.vhost]);
    this.created = false;
  }
}
