import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "#functions/app.ts";
import type { RenderedMessage } from "#functions/campaign/decide.ts";
import {
  type AliyunCredentials,
  aliyunSmsLookup,
  aliyunSmsProvider,
  type TencentCredentials,
  tencentSmsLookup,
  tencentSmsProvider,
} from "#functions/dispatch/china-sms.ts";
import { httpSmsLookup } from "#functions/dispatch/providers.ts";
import {
  aliyunCanonicalQuery,
  aliyunPercentEncode,
  aliyunSignature,
  tc3Sign,
} from "#functions/dispatch/signing.ts";
import { type SmsSink, startSmsSink } from "#local/sms-sink.ts";
import { startAliyunSmsGateway, startTencentSmsGateway, type VendorGateway } from "#local/vendor-sms.ts";
import { Env, settingsFrom } from "#platform/env.ts";
import {
  ProviderPermanentError,
  ProviderRetryableError,
  ProviderUnknownOutcomeError,
} from "#platform/errors.ts";

// The adapters against local gateways that speak each vendor's protocol and verify its signatures.
const ALIYUN: AliyunCredentials = {
  accessKeyId: "LTAI5tLocalTestKey",
  accessKeySecret: "aliyun-local-secret-0123456789",
};
const TENCENT: TencentCredentials = {
  secretId: "AKIDlocalTestSecretId",
  secretKey: "tencent-local-secret-0123456789",
};
const APP_ID = "1400123456";
const SIGN = "示例银行";

let sink: SmsSink;
let aliyun: VendorGateway;
let tencent: VendorGateway;

beforeAll(async () => {
  sink = await startSmsSink(undefined);
  aliyun = await startAliyunSmsGateway(sink, ALIYUN, {
    signNames: [SIGN],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Aliyun's own ${var} template syntax
    templates: { SMS_460725001: "${name}您好，您的专属权益已到账。拒收请回复R" },
  });
  tencent = await startTencentSmsGateway(sink, TENCENT, {
    appId: APP_ID,
    signNames: [SIGN],
    templates: { "2201001": "{1}您好，您的专属权益已到账。拒收请回复R" },
  });
});
afterAll(async () => {
  await aliyun?.stop();
  await tencent?.stop();
  await sink?.stop();
});
afterEach(() => {
  Object.assign(sink.faults, { failRate: 0, throttleRate: 0, timeoutRate: 0 });
});

let n = 0;
const context = () => {
  n++;
  return { sendKey: `cn-test#C${n}#sms`, campaignId: "cn-test", customerId: `C${n}` };
};
const message = (code: string, to = "+8613800138000", value = "张三"): RenderedMessage => ({
  to,
  text: `【${SIGN}】${value}您好，您的专属权益已到账。拒收请回复R`,
  template: { code, params: [{ name: "name", value }] },
});
const aliyunWith = (credentials: AliyunCredentials = ALIYUN, timeoutMs = 2000) =>
  aliyunSmsProvider({
    endpoint: aliyun.endpoint,
    signName: SIGN,
    credentials: async () => credentials,
    timeoutMs,
  });
const tencentWith = (
  credentials: TencentCredentials = TENCENT,
  options: { appId?: string; timeoutMs?: number } = {},
) =>
  tencentSmsProvider({
    endpoint: tencent.endpoint,
    appId: options.appId ?? APP_ID,
    signName: SIGN,
    credentials: async () => credentials,
    timeoutMs: options.timeoutMs ?? 2000,
  });

describe("Alibaba Cloud SMS adapter against the verifying gateway", () => {
  it("sends the registered template with our values and finds it again by send key", async () => {
    const ctx = context();
    const { messageId } = await aliyunWith().send(message("SMS_460725001"), ctx);
    expect(messageId).toMatch(/\^0$/);
    const logged = sink.messages.find((m) => m.tag === ctx.sendKey);
    expect(logged).toMatchObject({
      to: "+8613800138000",
      text: `【${SIGN}】张三您好，您的专属权益已到账。拒收请回复R`,
    });
    expect(await httpSmsLookup(sink.endpoint)(ctx.sendKey)).toEqual({ received: true, messageId });
  });

  it("fails with a wrong secret, and nothing is sent", async () => {
    const ctx = context();
    const send = aliyunWith({ ...ALIYUN, accessKeySecret: "not-the-secret" }).send(
      message("SMS_460725001"),
      ctx,
    );
    await expect(send).rejects.toThrow(ProviderRetryableError);
    await expect(send).rejects.toThrow(/signature rejected.*SignatureDoesNotMatch/);
    expect(sink.messages.some((m) => m.tag === ctx.sendKey)).toBe(false);
  });

  it("refuses an unknown AccessKeyId", async () => {
    await expect(
      aliyunWith({ ...ALIYUN, accessKeyId: "LTAIunknown" }).send(message("SMS_460725001"), context()),
    ).rejects.toThrow(/InvalidAccessKeyId\.NotFound/);
  });

  it("refuses a request altered after it was signed", async () => {
    const params: Record<string, string> = {
      AccessKeyId: ALIYUN.accessKeyId,
      Action: "SendSms",
      Format: "JSON",
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: `nonce-${Date.now()}`,
      SignatureVersion: "1.0",
      Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      Version: "2017-05-25",
      PhoneNumbers: "13800138000",
      SignName: SIGN,
      TemplateCode: "SMS_460725001",
      TemplateParam: '{"name":"张三"}',
    };
    const signature = aliyunSignature("POST", params, ALIYUN.accessKeySecret);
    const response = await fetch(`${aliyun.endpoint}/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `${aliyunCanonicalQuery({ ...params, PhoneNumbers: "13900139000" })}&Signature=${aliyunPercentEncode(signature)}`,
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { Code: string }).Code).toBe("SignatureDoesNotMatch");
  });

  it("maps the per-number frequency limit to throttled (retried)", async () => {
    aliyun.failNext("isv.BUSINESS_LIMIT_CONTROL");
    await expect(aliyunWith().send(message("SMS_460725001"), context())).rejects.toThrow(
      /aliyun throttled: per-number frequency limit \(isv\.BUSINESS_LIMIT_CONTROL/,
    );
  });

  it("maps an invalid number to a permanent failure", async () => {
    const send = aliyunWith().send(message("SMS_460725001", "+8612345"), context());
    await expect(send).rejects.toThrow(ProviderPermanentError);
    await expect(send).rejects.toThrow(/invalid phone number \(isv\.MOBILE_NUMBER_ILLEGAL/);
  });

  it("keeps an unapproved template an operator's problem: retried, not burnt as the customer's failure", async () => {
    const send = aliyunWith().send(message("SMS_999999999"), context());
    await expect(send).rejects.toThrow(ProviderRetryableError);
    await expect(send).rejects.toThrow(/aliyun config: template not approved.*isv\.SMS_TEMPLATE_ILLEGAL/);
  });

  it("refuses a variant without a registered template code before calling the vendor", async () => {
    const before = aliyun.answers.length;
    await expect(aliyunWith().send({ to: "+8613800138000", text: "x" }, context())).rejects.toThrow(
      /no smsTemplateCode/,
    );
    expect(aliyun.answers.length).toBe(before);
  });

  it("treats a vendor system error as unavailable (retried)", async () => {
    sink.faults.failRate = 1;
    await expect(aliyunWith().send(message("SMS_460725001"), context())).rejects.toThrow(
      /aliyun unavailable.*isp\.SYSTEM_ERROR/,
    );
  });

  it("makes an answer that never comes an unknown outcome, though the vendor sent it", async () => {
    sink.faults.timeoutRate = 1;
    const ctx = context();
    await expect(aliyunWith(ALIYUN, 300).send(message("SMS_460725001"), ctx)).rejects.toThrow(
      ProviderUnknownOutcomeError,
    );
    expect(sink.messages.some((m) => m.tag === ctx.sendKey)).toBe(true);
  });

  it("re-reads a rotated secret after the vendor rejects the cached one", async () => {
    let reads = 0;
    const provider = aliyunSmsProvider({
      endpoint: aliyun.endpoint,
      signName: SIGN,
      credentials: async () => (++reads === 1 ? { ...ALIYUN, accessKeySecret: "before-rotation" } : ALIYUN),
    });
    await expect(provider.send(message("SMS_460725001"), context())).rejects.toThrow(/SignatureDoesNotMatch/);
    await expect(provider.send(message("SMS_460725001"), context())).resolves.toHaveProperty("messageId");
    expect(reads).toBe(2);
  });

  it("is retried when the vendor cannot be reached (nothing left)", async () => {
    // A port that was just free: nothing listens there (fetch refuses well-known ports like 9 outright).
    const closed = await startSmsSink(undefined);
    await closed.stop();
    const provider = aliyunSmsProvider({
      endpoint: closed.endpoint,
      signName: SIGN,
      credentials: async () => ALIYUN,
    });
    await expect(provider.send(message("SMS_460725001"), context())).rejects.toThrow(ProviderRetryableError);
  });
});

describe("Tencent Cloud SMS adapter against the verifying gateway", () => {
  it("sends the registered template with positional values and finds it again by send key", async () => {
    const ctx = context();
    const { messageId } = await tencentWith().send(message("2201001", "+8613900139000", "李四"), ctx);
    expect(messageId).toMatch(/^2433:/);
    expect(sink.messages.find((m) => m.tag === ctx.sendKey)).toMatchObject({
      to: "+8613900139000",
      text: `【${SIGN}】李四您好，您的专属权益已到账。拒收请回复R`,
    });
    expect(await httpSmsLookup(sink.endpoint)(ctx.sendKey)).toEqual({ received: true, messageId });
  });

  it("fails with a wrong secret, and nothing is sent", async () => {
    const ctx = context();
    const send = tencentWith({ ...TENCENT, secretKey: "not-the-secret" }).send(message("2201001"), ctx);
    await expect(send).rejects.toThrow(ProviderRetryableError);
    await expect(send).rejects.toThrow(/signature rejected.*AuthFailure\.SignatureFailure/);
    expect(sink.messages.some((m) => m.tag === ctx.sendKey)).toBe(false);
  });

  it("refuses a body altered after it was signed", async () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const host = new URL(tencent.endpoint).host;
    const headers = { "content-type": "application/json; charset=utf-8", host, "x-tc-action": "sendsms" };
    const payload = JSON.stringify({ PhoneNumberSet: ["+8613800138000"], SmsSdkAppId: APP_ID });
    const { authorization } = tc3Sign({ ...TENCENT, service: "sms", headers, payload, timestamp });
    const response = await fetch(`${tencent.endpoint}/`, {
      method: "POST",
      headers: {
        authorization,
        "content-type": headers["content-type"],
        "x-tc-action": "SendSms",
        "x-tc-version": "2021-01-11",
        "x-tc-timestamp": String(timestamp),
      },
      body: payload.replace("13800138000", "13900139000"),
    });
    const body = (await response.json()) as { Response: { Error?: { Code: string } } };
    expect(body.Response.Error?.Code).toBe("AuthFailure.SignatureFailure");
  });

  it("refuses a signature older than five minutes", async () => {
    const stale = tencentSmsProvider({
      endpoint: tencent.endpoint,
      appId: APP_ID,
      signName: SIGN,
      credentials: async () => TENCENT,
      now: () => new Date(Date.now() - 10 * 60_000),
    });
    await expect(stale.send(message("2201001"), context())).rejects.toThrow(
      /clock skew.*AuthFailure\.SignatureExpire/,
    );
  });

  it("maps a per-number limit in SendStatusSet to throttled", async () => {
    tencent.failNext("LimitExceeded.PhoneNumberDailyLimit");
    await expect(tencentWith().send(message("2201001"), context())).rejects.toThrow(
      /tencent throttled: rate or frequency limit \(LimitExceeded\.PhoneNumberDailyLimit/,
    );
  });

  it("maps the API rate limit to throttled", async () => {
    sink.faults.throttleRate = 1;
    await expect(tencentWith().send(message("2201001"), context())).rejects.toThrow(
      /tencent throttled: API request rate exceeded \(RequestLimitExceeded/,
    );
  });

  it("maps an invalid number to a permanent failure", async () => {
    const send = tencentWith().send(message("2201001", "+8612345"), context());
    await expect(send).rejects.toThrow(ProviderPermanentError);
    await expect(send).rejects.toThrow(/invalid phone number \(InvalidParameterValue\.IncorrectPhoneNumber/);
  });

  it("keeps an unapproved template or a foreign SmsSdkAppId an operator's problem", async () => {
    await expect(tencentWith().send(message("9999999"), context())).rejects.toThrow(
      /tencent config: template not approved \(FailedOperation\.TemplateIncorrectOrUnapproved/,
    );
    await expect(
      tencentWith(TENCENT, { appId: "1400999999" }).send(message("2201001"), context()),
    ).rejects.toThrow(/UnauthorizedOperation\.SmsSdkAppIdVerifyFail/);
  });

  it("makes the vendor's own timeout an unknown outcome (never resent blindly)", async () => {
    tencent.failNext("InternalError.Timeout");
    await expect(tencentWith().send(message("2201001"), context())).rejects.toThrow(
      ProviderUnknownOutcomeError,
    );
  });

  it("makes an answer that never comes an unknown outcome, though the vendor sent it", async () => {
    sink.faults.timeoutRate = 1;
    const ctx = context();
    await expect(tencentWith(TENCENT, { timeoutMs: 300 }).send(message("2201001"), ctx)).rejects.toThrow(
      ProviderUnknownOutcomeError,
    );
    expect(sink.messages.some((m) => m.tag === ctx.sendKey)).toBe(true);
  });
});

describe("the composition root with SMS_PROVIDER", () => {
  const settingsFor = (vars: Record<string, string>, credentials?: string) => {
    const settings = settingsFrom(
      Env.parse({ TABLE_NAME: "tiercast-test", TIERCAST_SECRET: "k".repeat(32), ...vars }),
    );
    return { ...settings, sms: { ...settings.sms, ...(credentials ? { credentials } : {}) } };
  };

  it.each([
    ["aliyun", { SMS_SIGN_NAME: SIGN }, JSON.stringify(ALIYUN), "SMS_460725001"],
    ["tencent", { SMS_SIGN_NAME: SIGN, SMS_APP_ID: APP_ID }, JSON.stringify(TENCENT), "2201001"],
  ] as const)("wires %s with its keys and sends through its gateway", async (vendor, vars, keys, code) => {
    const endpoint = vendor === "aliyun" ? aliyun.endpoint : tencent.endpoint;
    const app = createApp(settingsFor({ SMS_PROVIDER: vendor, SMS_ENDPOINT: endpoint, ...vars }, keys));
    try {
      const ctx = context();
      const { providers } = await app.dispatchDeps();
      await providers.sms!.send(message(code), ctx);
      expect(sink.messages.find((m) => m.tag === ctx.sendKey)?.text).toContain(`【${SIGN}】张三您好`);
    } finally {
      app.close();
    }
  });

  it("names the fields a secret of the wrong shape lacks", async () => {
    const app = createApp(
      settingsFor({ SMS_PROVIDER: "aliyun", SMS_ENDPOINT: aliyun.endpoint }, JSON.stringify(TENCENT)),
    );
    try {
      const { providers } = await app.dispatchDeps();
      await expect(providers.sms!.send(message("SMS_460725001"), context())).rejects.toThrow(
        /the SMS secret needs "accessKeyId" and "accessKeySecret"/,
      );
    } finally {
      app.close();
    }
  });

  it("takes the signature from the bank config when SMS_SIGN_NAME is unset", async () => {
    const app = createApp(
      settingsFor({ SMS_PROVIDER: "aliyun", SMS_ENDPOINT: aliyun.endpoint }, JSON.stringify(ALIYUN)),
    );
    try {
      const { providers } = await app.dispatchDeps();
      // The default config's signature, 【Tiercast银行】, is not one this gateway approved.
      await expect(providers.sms!.send(message("SMS_460725001"), context())).rejects.toThrow(
        /isv\.SMS_SIGNATURE_ILLEGAL/,
      );
    } finally {
      app.close();
    }
  });
});

describe("the vendors' query APIs, for a send whose answer was lost", () => {
  const TO = "+8613800138000";
  it("Aliyun QuerySendDetails: found by OutId; absent is proof within its 30 days of records; else no answer", async () => {
    const ctx = context();
    await aliyunWith().send(message("SMS_460725001", TO), ctx);
    const lookup = (credentials: AliyunCredentials = ALIYUN) =>
      aliyunSmsLookup({ endpoint: aliyun.endpoint, signName: SIGN, credentials: async () => credentials });
    const now = new Date();
    expect(await lookup()(ctx.sendKey, { to: TO, at: now })).toEqual({
      received: true,
      messageId: `aliyun-out:${ctx.sendKey}`,
    });
    expect(await lookup()("cn-test#nobody#sms", { to: TO, at: now })).toEqual({ received: false });
    expect(
      await lookup()(ctx.sendKey, { to: TO, at: new Date(now.getTime() - 40 * 86_400_000) }),
    ).toBeUndefined();
    // The gateway refuses a wrong secret: the lookup cannot say (never "not received").
    expect(
      await lookup({ ...ALIYUN, accessKeySecret: "wrong" })("cn-test#nobody#sms", { to: TO, at: now }),
    ).toBeUndefined();
  });

  it("Tencent PullSmsSendStatusByPhoneNumber: found by SessionContext; absent proves nothing", async () => {
    const ctx = context();
    const sent = await tencentWith().send(message("2201001", TO), ctx);
    const lookup = (credentials: TencentCredentials = TENCENT) =>
      tencentSmsLookup({
        endpoint: tencent.endpoint,
        appId: APP_ID,
        signName: SIGN,
        credentials: async () => credentials,
      });
    const now = new Date();
    expect(await lookup()(ctx.sendKey, { to: TO, at: now })).toEqual({
      received: true,
      messageId: sent.messageId,
    });
    expect(await lookup()("cn-test#nobody#sms", { to: TO, at: now })).toBeUndefined();
    expect(
      await lookup({ ...TENCENT, secretKey: "wrong" })(ctx.sendKey, { to: TO, at: now }),
    ).toBeUndefined();
  });
});
