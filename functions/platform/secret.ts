import type { MiddlewareObj } from "@middy/core";

export interface SecretSource {
  /** The HMAC key; throws until it is loaded. */
  get(): string;
  /** Reads it from Secrets Manager once per container when only its ARN is given. */
  load(): Promise<void>;
}

/**
 * The HMAC key for referral codes, unsubscribe and tracking links: given directly (embedded runtime)
 * or read from Secrets Manager by ARN (AWS).
 */
export function secretSource(options: { secret?: string; secretArn?: string }): SecretSource {
  let value = options.secret;
  let loading: Promise<void> | undefined;
  return {
    get() {
      if (!value || value.length < 16)
        throw new Error("TIERCAST_SECRET (or TIERCAST_SECRET_ARN) must be set");
      return value;
    },
    async load() {
      if (value || !options.secretArn) return;
      const secretArn = options.secretArn;
      loading ??= (async () => {
        const { SecretsManagerClient, GetSecretValueCommand } = await import(
          "@aws-sdk/client-secrets-manager"
        );
        const out = await new SecretsManagerClient({}).send(
          new GetSecretValueCommand({ SecretId: secretArn }),
        );
        if (!out.SecretString) throw new Error("the Tiercast secret is empty");
        value = out.SecretString;
      })();
      // A failed read is not kept: the next invocation tries again instead of failing forever.
      await loading.catch((err: unknown) => {
        loading = undefined;
        throw err;
      });
    },
  };
}

/** Middy middleware so every handler has the key before it runs. */
export function loadSecret(source: () => SecretSource): MiddlewareObj {
  return { before: () => source().load() };
}
