import type { MiddlewareObj } from "@middy/core";

let loading: Promise<void> | undefined;

/**
 * The HMAC key: given directly in TIERCAST_SECRET (embedded runtime) or read once per container from
 * Secrets Manager (TIERCAST_SECRET_ARN, on AWS). Middy middleware so every handler has it before it runs.
 */
export function loadSecret(): MiddlewareObj {
  return {
    before: async () => {
      if (process.env.TIERCAST_SECRET || !process.env.TIERCAST_SECRET_ARN) return;
      loading ??= (async () => {
        const { SecretsManagerClient, GetSecretValueCommand } = await import(
          "@aws-sdk/client-secrets-manager"
        );
        const client = new SecretsManagerClient({});
        const out = await client.send(
          new GetSecretValueCommand({ SecretId: process.env.TIERCAST_SECRET_ARN }),
        );
        if (!out.SecretString) throw new Error("the Tiercast secret is empty");
        process.env.TIERCAST_SECRET = out.SecretString;
      })();
      // A failed read is not kept: the next invocation tries again instead of failing forever.
      await loading.catch((err: unknown) => {
        loading = undefined;
        throw err;
      });
    },
  };
}
