// RabbitMQ for one run: a vhost of its own on the machine's RabbitMQ (from
// scripts/setup.sh), and a user of its own allowed on that vhost only, as the
// apps on Docker and Kubernetes have a user that is not the broker's guest. Both
// are deleted at stop. A private RabbitMQ node costs seconds of Erlang start-up
// per run; a vhost isolates queues just as well.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { BrokerAccount } from "../app-environment.js";
import { runPassword } from "./run-password.js";

const run = promisify(execFile);

/** The machine's RabbitMQ listens on 127.0.0.1 (scripts/start-datastores.sh). */
export const SHARED_RABBITMQ_HOST = "127.0.0.1";

export class RabbitVhost {
  /** The user is named after the vhost: several runs share the broker, and the vhost's name is the run's own. */
  readonly credentials: BrokerAccount & { readonly password: string };
  private vhostCreated = false;
  private userCreated = false;

  constructor(
    private readonly rabbitmqctl: string,
    readonly vhost: string,
  ) {
    this.credentials = { user: vhost, password: runPassword(), vhost };
  }

  async create(): Promise<void> {
    const { user, password } = this.credentials;
    try {
      await this.ctl(["add_vhost", this.vhost]);
      this.vhostCreated = true;
      // Without a password argument rabbitmqctl reads it from standard input: it is on no command line.
      await this.ctl(["add_user", user], `${password}\n`);
      this.userCreated = true;
      await this.ctl(["set_permissions", "-p", this.vhost, user, ".*", ".*", ".*"]);
    } catch (err) {
      throw new Error(`cannot set up RabbitMQ vhost "${this.vhost}" and its user (is RabbitMQ running? "bash scripts/start-datastores.sh" starts it): ${(err as Error).message}`, { cause: err });
    }
  }

  /** Deletes the user, then the vhost (with its queues), whichever of them `create` made. */
  async remove(): Promise<void> {
    try {
      if (this.userCreated) {
        await this.ctl(["delete_user", this.credentials.user]);
        this.userCreated = false;
      }
    } finally {
      if (this.vhostCreated) {
        await this.ctl(["delete_vhost", this.vhost]);
        this.vhostCreated = false;
      }
    }
  }

  private async ctl(args: string[], input?: string): Promise<void> {
    const command = run(this.rabbitmqctl, ["-q", ...args]);
    command.child.stdin?.end(input ?? "");
    await command;
  }
}
