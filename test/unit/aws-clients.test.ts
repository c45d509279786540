import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { RenderedMessage } from "#functions/campaign/decide.ts";
import { ProviderRetryableError } from "#platform/errors.ts";

describe("provider clients never retry a send (the ledger decides)", () => {
  let server: Server;
  let hits = 0;
  beforeAll(async () => {
    // An endpoint that fails every request with a 500: an SDK with retries would call it 3 times.
    server = createServer((req, res) => {
      hits++;
      req.resume();
      res.writeHead(500, {
        "content-type": "application/json",
        "x-amzn-errortype": "InternalServerException",
      });
      res.end('{"message":"boom"}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    hits = 0;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    vi.stubEnv("AWS_REGION", "ap-southeast-1");
    vi.stubEnv("AWS_ACCESS_KEY_ID", "test");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "test");
    vi.stubEnv("AWS_ENDPOINT_URL_SESV2", url);
    vi.stubEnv("AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2", url);
  });
  afterEach(() => vi.unstubAllEnvs());

  const message: RenderedMessage = {
    to: "+8613800000000",
    text: "hi",
    subject: "s",
    html: "<p>hi</p>",
  } as RenderedMessage;
  const context = { campaignId: "c1", customerId: "C1", sendKey: "c1#C1#sms" } as never;

  it("SES SendEmail is attempted once on a 5xx", async () => {
    const { sesProvider } = await import("#functions/dispatch/providers.ts");
    const ses = await sesProvider("marketing@mail.bank.example");
    await expect(ses.send(message, context)).rejects.toBeInstanceOf(ProviderRetryableError);
    expect(hits).toBe(1);
  });

  it("End User Messaging SendTextMessage is attempted once on a 5xx", async () => {
    const { awsSmsProvider } = await import("#functions/dispatch/providers.ts");
    const sms = await awsSmsProvider("pool-1");
    await expect(sms.send(message, context)).rejects.toBeInstanceOf(ProviderRetryableError);
    expect(hits).toBe(1);
  });
});

describe("the HMAC secret from Secrets Manager", () => {
  const sm = mockClient(SecretsManagerClient);
  afterEach(() => {
    sm.reset();
    vi.unstubAllEnvs();
  });

  it("is fetched again after a transient failure instead of failing every later invocation", async () => {
    sm.on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error("throttled"), { name: "ThrottlingException" }))
      .resolves({ SecretString: "s".repeat(48) });
    const { loadSecret, secretSource } = await import("#platform/secret.ts");
    const source = secretSource({
      secretArn: "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:hmac",
    });
    const load = loadSecret(() => source).before as (r: unknown) => Promise<void>;
    await expect(load({})).rejects.toThrow("throttled");
    expect(() => source.get()).toThrow("must be set");
    await expect(load({})).resolves.toBeUndefined();
    expect(source.get()).toBe("s".repeat(48));
  });
});

describe("starting the launch state machine", () => {
  const sfn = mockClient(SFNClient);
  const ARN = "arn:aws:states:ap-southeast-1:111122223333:stateMachine:tiercast-prod-launch";
  afterEach(() => sfn.reset());
  const names = () => sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);

  it("starts a new execution when a campaign is launched again after a failed one", async () => {
    const { startExecution } = await import("#platform/aws-launch.ts");
    sfn.on(StartExecutionCommand).resolves({ executionArn: "arn:x" });
    await startExecution(ARN, "spring", 3, "2027-03-01T02:00:00.000Z");
    // The first execution failed; the relaunch is a new attempt of the same version.
    await startExecution(ARN, "spring", 3, "2027-03-01T05:00:00.000Z");
    const [first, second] = names();
    expect(first).toBeDefined();
    expect(second).not.toBe(first);
  });

  it("treats ExecutionAlreadyExists as success only for the same attempt", async () => {
    const { startExecution } = await import("#platform/aws-launch.ts");
    const exists = Object.assign(new Error("exists"), { name: "ExecutionAlreadyExists" });
    sfn.on(StartExecutionCommand).resolvesOnce({ executionArn: "arn:first" }).rejects(exists);
    const at = "2027-03-01T02:00:00.000Z";
    await startExecution(ARN, "spring", 3, at);
    // A retried call of the same attempt (same campaign, version and launch time) finds it there.
    await expect(startExecution(ARN, "spring", 3, at)).resolves.toMatchObject({
      executionId: expect.any(String),
    });
    expect(names()[1]).toBe(names()[0]);
  });
});
