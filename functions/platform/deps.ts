import type { Channel } from "#functions/campaign/schema.ts";
import { documentClient, sqsClient } from "./clients.ts";
import { runtimeClock } from "./clock.ts";
import { parseConfig, type TiercastConfig } from "./config.ts";
import { env } from "./env.ts";
import { enqueue } from "./queue.ts";
import { Repo } from "./repo.ts";

let config: TiercastConfig | undefined;
/** The bank's config (tier schemes, quiet hours, caps), passed to functions as JSON in TIERCAST_CONFIG. */
export function handlerConfig(): TiercastConfig {
  config ??= parseConfig(env().TIERCAST_CONFIG ? JSON.parse(env().TIERCAST_CONFIG!) : {}, "TIERCAST_CONFIG");
  return config;
}

export function resetHandlerConfig() {
  config = undefined;
}

export function repo(): Repo {
  return new Repo(documentClient(), env().TABLE_NAME);
}

export function queueUrl(channel: Channel): string {
  const e = env();
  const url = channel === "sms" ? e.SMS_QUEUE_URL : channel === "email" ? e.EMAIL_QUEUE_URL : e.RM_QUEUE_URL;
  if (!url) throw new Error(`no queue configured for ${channel}`);
  return url;
}

export function baseDeps() {
  return {
    repo: repo(),
    config: handlerConfig(),
    secret: env().TIERCAST_SECRET,
    now: runtimeClock(),
    enqueue: (channel: Channel, messages: Parameters<typeof enqueue>[2]) =>
      enqueue(sqsClient(), queueUrl(channel), messages),
  };
}
