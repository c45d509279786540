import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { RenderedMessage } from "#functions/campaign/decide.ts";
import {
  ProviderPermanentError,
  ProviderRetryableError,
  ProviderThrottledError,
  ProviderUnknownOutcomeError,
} from "#platform/errors.ts";
import type { Provider, SendContext } from "./core.ts";
import { NOT_SENT_CODES } from "./providers.ts";
import { aliyunCanonicalQuery, aliyunPercentEncode, aliyunSignature, tc3Sign } from "./signing.ts";

/**
 * SMS in AWS China, where End User Messaging SMS does not exist: a licensed domestic vendor, Alibaba
 * Cloud SMS (dysmsapi) or Tencent Cloud SMS, over its own wire protocol and request signing (no vendor
 * SDK: two signed HTTPS calls do not need their dependency trees in every cold start).
 *
 * Both send a pre-registered template (code) with our variables' values, under a registered signature
 * (SignName); the text the customer gets is the vendor's copy of the template. Our send key rides along
 * (Aliyun OutId, Tencent SessionContext), so a vendor's own records and receipts find the row.
 */

export interface AliyunCredentials {
  accessKeyId: string;
  accessKeySecret: string;
}
export interface TencentCredentials {
  secretId: string;
  secretKey: string;
}

/** What one vendor answer means for the ledger row. */
export type VendorVerdict = "sent" | "throttled" | "config" | "unavailable" | "rejected" | "unknown";

interface Rule {
  verdict: Exclude<VendorVerdict, "sent">;
  reason: string;
}

/**
 * Alibaba Cloud's codes (SendSms error codes and the POP gateway's common errors). `config` is a problem
 * an operator fixes (keys, signature or template approval, balance): retried, then dead-lettered for a
 * redrive, never burnt as this customer's failure. `rejected` is about this message or number.
 */
const ALIYUN: Record<string, Rule> = {
  "isv.BUSINESS_LIMIT_CONTROL": { verdict: "throttled", reason: "per-number frequency limit" },
  "isv.DAY_LIMIT_CONTROL": { verdict: "throttled", reason: "daily limit reached" },
  "isv.MOBILE_NUMBER_ILLEGAL": { verdict: "rejected", reason: "invalid phone number" },
  "isv.MOBILE_COUNT_OVER_LIMIT": { verdict: "rejected", reason: "too many numbers in one request" },
  "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": {
    verdict: "rejected",
    reason: "number not reachable by this account",
  },
  "isv.BLACK_KEY_CONTROL_LIMIT": { verdict: "rejected", reason: "content contains a blocked keyword" },
  "isv.PARAM_LENGTH_LIMIT": { verdict: "rejected", reason: "a template variable's value is too long" },
  "isv.PARAM_NOT_SUPPORT_URL": { verdict: "rejected", reason: "a template variable may not carry a URL" },
  "isv.INVALID_JSON_PARAM": { verdict: "rejected", reason: "TemplateParam is not valid JSON" },
  "isv.TEMPLATE_MISSING_PARAMETERS": { verdict: "rejected", reason: "template variables missing" },
  "isv.INVALID_PARAMETERS": { verdict: "rejected", reason: "invalid request parameters" },
  "isv.SMS_TEMPLATE_ILLEGAL": { verdict: "config", reason: "template not approved or not this account's" },
  "isv.SMS_SIGNATURE_ILLEGAL": { verdict: "config", reason: "signature (SignName) not approved" },
  "isv.SMS_SIGN_ILLEGAL": { verdict: "config", reason: "signature (SignName) not approved" },
  "isv.SMS_SIGNATURE_SCENE_ILLEGAL": {
    verdict: "config",
    reason: "signature not approved for this template type",
  },
  "isv.AMOUNT_NOT_ENOUGH": { verdict: "config", reason: "account balance insufficient" },
  "isv.OUT_OF_SERVICE": { verdict: "config", reason: "account suspended (arrears)" },
  "isv.PRODUCT_UN_SUBSCRIPT": { verdict: "config", reason: "SMS service not activated" },
  "isv.PRODUCT_UNSUBSCRIBE": { verdict: "config", reason: "SMS service not activated" },
  "isv.ACCOUNT_NOT_EXISTS": { verdict: "config", reason: "account does not exist" },
  "isv.ACCOUNT_ABNORMAL": { verdict: "config", reason: "account abnormal" },
  "isv.DENY_IP_RANGE": { verdict: "config", reason: "source IP not allowed by the account" },
  "isp.RAM_PERMISSION_DENY": { verdict: "config", reason: "the RAM user may not call SendSms" },
  SignatureDoesNotMatch: { verdict: "config", reason: "signature rejected: check the SMS secret" },
  IncompleteSignature: { verdict: "config", reason: "signature rejected: check the SMS secret" },
  "InvalidAccessKeyId.NotFound": { verdict: "config", reason: "AccessKeyId unknown: check the SMS secret" },
  "InvalidAccessKeyId.Inactive": { verdict: "config", reason: "AccessKeyId disabled: check the SMS secret" },
  "InvalidTimeStamp.Expired": { verdict: "config", reason: "request timestamp out of range (clock skew)" },
  SignatureNonceUsed: { verdict: "unavailable", reason: "nonce reused" },
  "isp.SYSTEM_ERROR": { verdict: "unavailable", reason: "vendor system error" },
  ServiceUnavailable: { verdict: "unavailable", reason: "vendor unavailable" },
  InternalError: { verdict: "unavailable", reason: "vendor internal error" },
};

/** Tencent Cloud's codes (SendSms per-number status codes and API 3.0 common errors). */
const TENCENT: Record<string, Rule> = {
  "InvalidParameterValue.IncorrectPhoneNumber": { verdict: "rejected", reason: "invalid phone number" },
  "FailedOperation.PhoneNumberInBlacklist": {
    verdict: "rejected",
    reason: "number on the vendor's blacklist",
  },
  "FailedOperation.PhoneNumberParseFail": { verdict: "rejected", reason: "invalid phone number" },
  "UnsupportedOperation.UnsupportedRegion": { verdict: "rejected", reason: "number's region not supported" },
  "FailedOperation.ContainSensitiveWord": {
    verdict: "rejected",
    reason: "content contains a blocked keyword",
  },
  "InvalidParameterValue.TemplateParameterLengthLimit": {
    verdict: "rejected",
    reason: "a template variable's value is too long",
  },
  "InvalidParameterValue.TemplateParameterFormatError": {
    verdict: "rejected",
    reason: "a template variable's value has the wrong format",
  },
  "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter": {
    verdict: "rejected",
    reason: "a template variable may not carry a URL",
  },
  "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": {
    verdict: "rejected",
    reason: "parameter count differs from the approved template",
  },
  "FailedOperation.TemplateIncorrectOrUnapproved": { verdict: "config", reason: "template not approved" },
  "FailedOperation.SignatureIncorrectOrUnapproved": {
    verdict: "config",
    reason: "signature (SignName) not approved",
  },
  "FailedOperation.InsufficientBalanceInSmsPackage": {
    verdict: "config",
    reason: "SMS package balance exhausted",
  },
  "FailedOperation.MarketingSendTimeConstraint": {
    verdict: "throttled",
    reason: "outside the vendor's marketing hours (08:00-22:00)",
  },
  "UnauthorizedOperation.SmsSdkAppIdVerifyFail": {
    verdict: "config",
    reason: "SmsSdkAppId not this account's",
  },
  "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny": {
    verdict: "config",
    reason: "account may not send marketing SMS",
  },
  "AuthFailure.SignatureFailure": { verdict: "config", reason: "signature rejected: check the SMS secret" },
  "AuthFailure.SecretIdNotFound": { verdict: "config", reason: "SecretId unknown: check the SMS secret" },
  "AuthFailure.InvalidSecretId": { verdict: "config", reason: "SecretId invalid: check the SMS secret" },
  "AuthFailure.SignatureExpire": { verdict: "config", reason: "request timestamp out of range (clock skew)" },
  "AuthFailure.UnauthorizedOperation": { verdict: "config", reason: "the CAM user may not call SendSms" },
  RequestLimitExceeded: { verdict: "throttled", reason: "API request rate exceeded" },
  "InternalError.Timeout": { verdict: "unknown", reason: "vendor timed out handing the message on" },
  "InternalError.RequestTimeException": {
    verdict: "config",
    reason: "request timestamp out of range (clock skew)",
  },
};

function rule(table: Record<string, Rule>, code: string): Rule {
  const exact = table[code];
  if (exact) return exact;
  if (
    code.startsWith("LimitExceeded.") ||
    code.startsWith("RequestLimitExceeded") ||
    code.startsWith("Throttling")
  )
    return { verdict: "throttled", reason: "rate or frequency limit" };
  if (code.startsWith("AuthFailure") || code.startsWith("UnauthorizedOperation"))
    return { verdict: "config", reason: "credentials or permissions rejected" };
  if (code.startsWith("InternalError") || code.startsWith("isp.") || code === "ServiceUnavailable")
    return { verdict: "unavailable", reason: "vendor error" };
  if (code.startsWith("InvalidParameter"))
    return { verdict: "rejected", reason: "invalid request parameters" };
  // A definite answer we do not know: it did not send, so a retry cannot send twice.
  return { verdict: "unavailable", reason: "unrecognised vendor error" };
}

/** How one vendor error code is classified (exported for the tests and `tiercast doctor`). */
export const classifyVendorCode = (vendor: "aliyun" | "tencent", code: string) =>
  rule(vendor === "aliyun" ? ALIYUN : TENCENT, code);

function vendorError(vendor: string, code: string, message: string | undefined, r: Rule): Error {
  const text = `${vendor} ${r.verdict}: ${r.reason} (${code}${message ? `: ${message.slice(0, 120)}` : ""})`;
  if (r.verdict === "rejected") return new ProviderPermanentError(text);
  if (r.verdict === "unknown") return new ProviderUnknownOutcomeError(text);
  if (r.verdict === "throttled") return new ProviderThrottledError(text);
  return new ProviderRetryableError(text);
}

/** Reads a vendor's JSON answer: no answer after the request left, or a cut-off 200, is an unknown outcome. */
async function call(vendor: string, url: string, init: RequestInit, timeoutMs: number) {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code && NOT_SENT_CODES.has(cause.code))
      throw new ProviderRetryableError(`${vendor} unavailable: unreachable (${cause.code})`);
    throw new ProviderUnknownOutcomeError(`${vendor} did not answer: ${(err as Error).name}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch (err) {
    if (response.status >= 500 || response.status === 429)
      throw new ProviderRetryableError(`${vendor} unavailable: HTTP ${response.status}`);
    if (response.ok)
      throw new ProviderUnknownOutcomeError(`${vendor} answer unreadable: ${(err as Error).name}`);
    throw new ProviderRetryableError(`${vendor} unavailable: HTTP ${response.status} without a JSON body`);
  }
  return { status: response.status, body };
}

/** The vendor template a message goes out as; a variant without one cannot be sent through a vendor. */
function templateOf(vendor: string, message: RenderedMessage) {
  if (!message.template?.code)
    throw new ProviderRetryableError(
      `${vendor} config: the variant has no smsTemplateCode (the vendor sends only registered templates)`,
    );
  return message.template;
}

/** Credentials read once and re-read after the vendor rejects them (a rotated secret is picked up). */
function cachedCredentials<T>(load: () => Promise<T>) {
  let current: Promise<T> | undefined;
  return {
    get: () => {
      current ??= load().catch((err: unknown) => {
        current = undefined;
        throw err;
      });
      return current;
    },
    forget: () => {
      current = undefined;
    },
  };
}

export interface VendorOptions<C> {
  /** The vendor's HTTPS endpoint; the embedded gateway's address locally. */
  endpoint?: string;
  /** Aliyun RegionId / Tencent X-TC-Region. */
  region?: string;
  /** The registered signature, without 【】. */
  signName: string;
  /** From Secrets Manager on AWS; given directly by the embedded runtime. */
  credentials: () => Promise<C>;
  timeoutMs?: number;
  /** The request timestamp's clock (the vendors refuse one more than 5 to 15 minutes off). */
  now?: () => Date;
}

const isAuthProblem = (message: string) => / config: (signature rejected|AccessKeyId|SecretId)/.test(message);

/** Signs and posts one Alibaba Cloud RPC call (POST form, signature v1) with the common parameters. */
function aliyunClient(options: VendorOptions<AliyunCredentials>) {
  const endpoint = (options.endpoint ?? "https://dysmsapi.aliyuncs.com").replace(/\/$/, "");
  const now = options.now ?? (() => new Date());
  const credentials = cachedCredentials(options.credentials);
  return {
    credentials,
    async request(action: Record<string, string>) {
      const { accessKeyId, accessKeySecret } = await credentials.get();
      const params: Record<string, string> = {
        AccessKeyId: accessKeyId,
        Format: "JSON",
        RegionId: options.region ?? "cn-hangzhou",
        SignatureMethod: "HMAC-SHA1",
        SignatureNonce: randomUUID(),
        SignatureVersion: "1.0",
        Timestamp: now()
          .toISOString()
          .replace(/\.\d{3}Z$/, "Z"),
        Version: "2017-05-25",
        ...action,
      };
      const signature = aliyunSignature("POST", params, accessKeySecret);
      const { body } = await call(
        "aliyun",
        `${endpoint}/`,
        {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `${aliyunCanonicalQuery(params)}&Signature=${aliyunPercentEncode(signature)}`,
        },
        options.timeoutMs ?? 5000,
      );
      return body as { Code?: string; Message?: string } & Record<string, unknown>;
    },
  };
}

/** Alibaba Cloud SMS, `SendSms` (API 2017-05-25), POST form, signature v1. */
export function aliyunSmsProvider(options: VendorOptions<AliyunCredentials>): Provider {
  const client = aliyunClient(options);
  return {
    async send(message: RenderedMessage, context: SendContext) {
      const template = templateOf("aliyun", message);
      const answer = (await client.request({
        Action: "SendSms",
        // Mainland numbers go without the country code; others with it, without the plus.
        PhoneNumbers: message.to.replace(/^\+86/, "").replace(/^\+/, ""),
        SignName: options.signName,
        TemplateCode: template.code,
        TemplateParam: JSON.stringify(Object.fromEntries(template.params.map((p) => [p.name, p.value]))),
        OutId: context.sendKey,
      })) as { Code?: string; Message?: string; BizId?: string };
      if (answer.Code === "OK" && answer.BizId) return { messageId: answer.BizId };
      if (answer.Code === "OK") throw new ProviderUnknownOutcomeError("aliyun answered OK without a BizId");
      const err = vendorError(
        "aliyun",
        answer.Code ?? "NoCode",
        answer.Message,
        rule(ALIYUN, answer.Code ?? ""),
      );
      if (isAuthProblem(err.message)) client.credentials.forget();
      throw err;
    },
  };
}

/** received: the vendor has it (its id); absent: it provably does not; undefined: it cannot say. */
export type LookupResult = { received: true; messageId: string } | { received: false } | undefined;

/** Asks a vendor about one send whose answer was lost: by our send key, the number and when it was tried. */
export type VendorLookup = (sendKey: string, attempt: { to: string; at: Date }) => Promise<LookupResult>;

/** `yyyyMMdd` in China Standard Time: the day Aliyun files a send under. */
const chinaDay = (t: number) => new Date(t + 8 * 3_600_000).toISOString().slice(0, 10).replaceAll("-", "");

/**
 * Alibaba Cloud's QuerySendDetails: the number's records on the attempt's day (China time, and the next
 * day when the attempt was close to midnight), paged 50 at a time, searched for our OutId. Aliyun files
 * a record the moment it accepts a message, so none with our OutId means it never took it (within the
 * 30 days it keeps records; older attempts get no answer). Its records carry no BizId: a send settled
 * this way keeps `aliyun-out:<OutId>` as its message id.
 */
export function aliyunSmsLookup(options: VendorOptions<AliyunCredentials>): VendorLookup {
  const client = aliyunClient(options);
  const now = options.now ?? (() => new Date());
  return async (sendKey, attempt) => {
    // Aliyun keeps 30 days of records: past them, an absent record proves nothing.
    if (now().getTime() - attempt.at.getTime() > 29 * 86_400_000) return undefined;
    const phone = attempt.to.replace(/^\+86/, "");
    const days = [...new Set([chinaDay(attempt.at.getTime()), chinaDay(attempt.at.getTime() + 10 * 60_000)])];
    try {
      for (const day of days)
        for (let page = 1; page <= 20; page++) {
          const answer = (await client.request({
            Action: "QuerySendDetails",
            PhoneNumber: phone,
            SendDate: day,
            PageSize: "50",
            CurrentPage: String(page),
          })) as {
            Code?: string;
            TotalCount?: number;
            SmsSendDetailDTOs?: { SmsSendDetailDTO?: { OutId?: string; SendStatus?: number }[] };
          };
          if (answer.Code !== "OK") {
            if (isAuthProblem(` config: ${rule(ALIYUN, answer.Code ?? "").reason}`))
              client.credentials.forget();
            return undefined;
          }
          const records = answer.SmsSendDetailDTOs?.SmsSendDetailDTO ?? [];
          if (records.some((r) => r.OutId === sendKey))
            return { received: true, messageId: `aliyun-out:${sendKey}` };
          if (page * 50 >= (answer.TotalCount ?? 0) || !records.length) break;
        }
    } catch {
      return undefined;
    }
    return { received: false };
  };
}

/** Signs and posts one Tencent Cloud API 3.0 call (POST JSON, TC3-HMAC-SHA256). */
function tencentClient(options: VendorOptions<TencentCredentials>) {
  const endpoint = (options.endpoint ?? "https://sms.tencentcloudapi.com").replace(/\/$/, "");
  const host = new URL(endpoint).host;
  const now = options.now ?? (() => new Date());
  const credentials = cachedCredentials(options.credentials);
  return {
    credentials,
    async request(action: string, body: Record<string, unknown>) {
      const { secretId, secretKey } = await credentials.get();
      const payload = JSON.stringify(body);
      const timestamp = Math.floor(now().getTime() / 1000);
      const signed = {
        "content-type": "application/json; charset=utf-8",
        host,
        "x-tc-action": action.toLowerCase(),
      };
      const { authorization } = tc3Sign({
        secretId,
        secretKey,
        service: "sms",
        headers: signed,
        payload,
        timestamp,
      });
      const { body: answer } = await call(
        "tencent",
        `${endpoint}/`,
        {
          method: "POST",
          headers: {
            authorization,
            "content-type": signed["content-type"],
            "x-tc-action": action,
            "x-tc-version": "2021-01-11",
            "x-tc-timestamp": String(timestamp),
            "x-tc-region": options.region ?? "ap-guangzhou",
          },
          body: payload,
        },
        options.timeoutMs ?? 5000,
      );
      return (answer as { Response?: TencentResponse }).Response;
    },
  };
}

/** Tencent Cloud SMS, `SendSms` (API 2021-01-11), POST JSON, TC3-HMAC-SHA256. */
export function tencentSmsProvider(options: VendorOptions<TencentCredentials> & { appId: string }): Provider {
  const client = tencentClient(options);
  return {
    async send(message: RenderedMessage, context: SendContext) {
      const template = templateOf("tencent", message);
      const response = await client.request("SendSms", {
        PhoneNumberSet: [message.to],
        SmsSdkAppId: options.appId,
        SignName: options.signName,
        TemplateId: template.code,
        // Tencent templates number their variables {1}, {2}…: the values in the order they first appear.
        TemplateParamSet: template.params.map((p) => p.value),
        SessionContext: context.sendKey,
      });
      if (!response) throw new ProviderUnknownOutcomeError("tencent answer has no Response");
      const status = response.SendStatusSet?.[0];
      const code = response.Error?.Code ?? status?.Code ?? "NoCode";
      if (!response.Error && status?.Code === "Ok" && status.SerialNo) return { messageId: status.SerialNo };
      if (!response.Error && !status)
        throw new ProviderUnknownOutcomeError("tencent answer has no send status");
      const err = vendorError(
        "tencent",
        code,
        response.Error?.Message ?? status?.Message,
        status?.Code === "Ok" ? { verdict: "unknown", reason: "no SerialNo" } : rule(TENCENT, code),
      );
      if (isAuthProblem(err.message)) client.credentials.forget();
      throw err;
    },
  };
}

/**
 * Tencent's PullSmsSendStatusByPhoneNumber: the number's delivery reports since a minute before the
 * attempt, searched for our SessionContext. A report exists only once the carrier has reported, so its
 * absence proves nothing: such a send stays unknown until a receipt or the policy settles it.
 */
export function tencentSmsLookup(
  options: VendorOptions<TencentCredentials> & { appId: string },
): VendorLookup {
  const client = tencentClient(options);
  const now = options.now ?? (() => new Date());
  return async (sendKey, attempt) => {
    try {
      const response = await client.request("PullSmsSendStatusByPhoneNumber", {
        BeginTime: Math.floor(attempt.at.getTime() / 1000) - 60,
        EndTime: Math.floor(now().getTime() / 1000) + 60,
        Offset: 0,
        Limit: 100,
        PhoneNumber: attempt.to,
        SmsSdkAppId: options.appId,
      });
      if (!response || response.Error) {
        if (response?.Error && isAuthProblem(` config: ${rule(TENCENT, response.Error.Code).reason}`))
          client.credentials.forget();
        return undefined;
      }
      const found = response.PullSmsSendStatusSet?.find((s) => s.SessionContext === sendKey);
      return found?.SerialNo ? { received: true, messageId: found.SerialNo } : undefined;
    } catch {
      return undefined;
    }
  };
}

interface TencentResponse {
  Error?: { Code: string; Message?: string };
  SendStatusSet?: {
    SerialNo?: string;
    PhoneNumber?: string;
    Code: string;
    Message?: string;
    SessionContext?: string;
  }[];
  PullSmsSendStatusSet?: { SerialNo?: string; ReportStatus?: string; SessionContext?: string }[];
  RequestId?: string;
}

/** The domestic vendors an SMS_PROVIDER may name. */
export type SmsVendor = "aliyun" | "tencent";

const AliyunSecret = z.object({ accessKeyId: z.string().min(1), accessKeySecret: z.string().min(1) });
const TencentSecret = z.object({ secretId: z.string().min(1), secretKey: z.string().min(1) });

export interface VendorSettings {
  endpoint?: string;
  region?: string;
  /** Tencent's SmsSdkAppId. */
  appId?: string;
  /** The registered signature; by default the config's SMS signature without its 【】. */
  signName?: string;
  timeoutMs?: number;
  now?: () => Date;
  /** The secret's JSON (`{"accessKeyId","accessKeySecret"}` or `{"secretId","secretKey"}`): read from Secrets Manager on AWS. */
  readSecret: () => Promise<string>;
}

/** The signature as vendors register it: `【示例银行】` is registered as `示例银行`. */
export const signNameOf = (signature: string) => signature.replace(/^【|】$/g, "").trim();

/** The provider for `SMS_PROVIDER=aliyun|tencent`; a secret without the vendor's fields is refused with its name. */
export function vendorSmsProvider(vendor: SmsVendor, s: VendorSettings & { signName: string }): Provider {
  return vendorSms(vendor, s).provider;
}

/** The vendor's query API for reconciling an unknown send (QuerySendDetails / PullSmsSendStatusByPhoneNumber). */
export function vendorSmsLookup(vendor: SmsVendor, s: VendorSettings & { signName: string }): VendorLookup {
  return vendorSms(vendor, s).lookup;
}

function vendorSms(vendor: SmsVendor, s: VendorSettings & { signName: string }) {
  const parse = async <T>(schema: z.ZodType<T>, fields: string) => {
    const parsed = schema.safeParse(JSON.parse(await s.readSecret()));
    if (!parsed.success) throw new ProviderRetryableError(`${vendor} config: the SMS secret needs ${fields}`);
    return parsed.data;
  };
  const common = {
    endpoint: s.endpoint,
    region: s.region,
    signName: s.signName,
    timeoutMs: s.timeoutMs,
    now: s.now,
  };
  if (vendor === "aliyun") {
    const options = {
      ...common,
      credentials: () => parse(AliyunSecret, '"accessKeyId" and "accessKeySecret"'),
    };
    return { provider: aliyunSmsProvider(options), lookup: aliyunSmsLookup(options) };
  }
  if (!s.appId) throw new Error("SMS_APP_ID (Tencent's SmsSdkAppId) is not set");
  const options = {
    ...common,
    appId: s.appId,
    credentials: () => parse(TencentSecret, '"secretId" and "secretKey"'),
  };
  return { provider: tencentSmsProvider(options), lookup: tencentSmsLookup(options) };
}
