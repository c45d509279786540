import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AliyunCredentials, TencentCredentials } from "#functions/dispatch/china-sms.ts";
import { aliyunSignature, aliyunStringToSign, sameSignature, tc3Sign } from "#functions/dispatch/signing.ts";
import type { SmsSink } from "./sms-sink.ts";

/**
 * Local stand-ins for Alibaba Cloud SMS and Tencent Cloud SMS that speak each vendor's wire protocol
 * and verify each request's signature as the vendor does (so a signing bug, or a wrong secret, fails
 * here as it would in production). What they accept goes into the SMS sink's log and tag lookup, the
 * same record the reconcile path and the crash tests read. Bound to 127.0.0.1 on a free port.
 */

export interface VendorGatewayOptions {
  /** Approved signatures (SignName, without 【】); any when omitted. */
  signNames?: string[];
  /**
   * Approved templates by code: Aliyun text with `${name}` variables, Tencent text with `{1}`, `{2}`…
   * When omitted any code is approved and the logged text is the code and its values.
   */
  templates?: Record<string, string>;
  /** The vendor's clock, for the timestamp window (the embedded runtime's clock). */
  clock?: () => Date;
  /** Numbers the carrier never delivers to: accepted, then reported failed (receipts and the query APIs). */
  undeliverable?: string[];
}

export interface VendorGateway {
  endpoint: string;
  /** Every request that reached it, with the vendor code it answered. */
  answers: { code: string; at: string }[];
  /** The next `times` requests that pass the signature check answer with this vendor code. */
  failNext(code: string, times?: number): void;
  /** The next `times` requests have their connection cut before the gateway reads them: never received. */
  dropNext(times?: number): void;
  /**
   * Where delivery receipts go (the callback URL an operator sets in the vendor's console): Aliyun's
   * SmsReport HTTP batch push, Tencent's status callback. Unset: receipts wait.
   */
  pushReceiptsTo(url: string | undefined): void;
  /** Pushes the receipts not yet acknowledged (the vendor's answer is `code: 0` / `result: 0`); how many went. */
  flushReceipts(): Promise<number>;
  /** Pushes every receipt again, as a vendor does when it is unsure its push arrived. */
  redeliverReceipts(): Promise<number>;
  stop(): Promise<void>;
}

/** One delivery report in the vendor's own push format, and whether our endpoint acknowledged it. */
interface Receipt {
  body: Record<string, unknown>;
  acknowledged: boolean;
}

/** `yyyy-MM-dd HH:mm:ss` in China Standard Time, as both vendors write times. */
export const chinaTime = (iso: string) =>
  new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 19).replace("T", " ");
/** `yyyyMMdd` in China Standard Time (Aliyun's SendDate). */
export const chinaDate = (iso: string) => chinaTime(iso).slice(0, 10).replaceAll("-", "");

const MAINLAND = /^1[3-9]\d{9}$/;

async function readBody(req: IncomingMessage): Promise<string> {
  let body = "";
  req.setEncoding("utf8");
  for await (const chunk of req) body += chunk;
  return body;
}

async function listen(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  sink: SmsSink,
  answers: VendorGateway["answers"],
  injected: string[],
  receipts: Receipt[],
  /** What the vendor's endpoint answers when it took the push. */
  acknowledged: (answer: unknown) => boolean,
): Promise<VendorGateway> {
  let drops = 0;
  let receiptsUrl: string | undefined;
  const push = async (which: Receipt[]) => {
    if (!receiptsUrl || !which.length) return 0;
    // One batch per push (both vendors batch; a request may carry many reports).
    const response = await fetch(receiptsUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(which.map((r) => r.body)),
    }).catch(() => undefined);
    const answer = response?.ok ? await response.json().catch(() => undefined) : undefined;
    if (!acknowledged(answer)) return 0;
    for (const r of which) r.acknowledged = true;
    return which.length;
  };
  const server: Server = createServer((req, res) => {
    if (drops > 0) {
      drops--;
      req.socket.destroy();
      return;
    }
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: (err as Error).message }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answers,
    failNext(code, times = 1) {
      for (let i = 0; i < times; i++) injected.push(code);
    },
    dropNext(times = 1) {
      drops += times;
    },
    pushReceiptsTo(url) {
      receiptsUrl = url;
    },
    flushReceipts: () => push(receipts.filter((r) => !r.acknowledged)),
    redeliverReceipts: () => push([...receipts]),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      void sink;
    },
  };
}

/** Alibaba Cloud SMS (dysmsapi 2017-05-25): `SendSms` by GET query or POST form, signature v1. */
export async function startAliyunSmsGateway(
  sink: SmsSink,
  credentials: AliyunCredentials,
  options: VendorGatewayOptions = {},
): Promise<VendorGateway> {
  const clock = options.clock ?? (() => new Date());
  const answers: VendorGateway["answers"] = [];
  const injected: string[] = [];
  const nonces = new Set<string>();
  const receipts: Receipt[] = [];
  const undeliverable = new Set(options.undeliverable ?? []);
  let seq = 0;
  type Reply = (status: number, code: string, extra?: Record<string, unknown>) => void;
  /**
   * QuerySendDetails: one number's records on one day (China time), 1–50 a page, newest first. A record
   * exists from the moment the vendor accepted the message (SendStatus 1 waiting for the carrier's
   * report, 2 failed, 3 delivered); it carries our OutId but not the BizId.
   */
  const query = (params: Record<string, string>, reply: Reply) => {
    const phone = params.PhoneNumber ?? "";
    const pageSize = Number(params.PageSize);
    const page = Number(params.CurrentPage ?? "1");
    if (!MAINLAND.test(phone)) return reply(200, "isv.MOBILE_NUMBER_ILLEGAL");
    if (
      !/^\d{8}$/.test(params.SendDate ?? "") ||
      !Number.isInteger(pageSize) ||
      pageSize < 1 ||
      pageSize > 50
    )
      return reply(200, "isv.INVALID_PARAMETERS");
    if (!Number.isInteger(page) || page < 1) return reply(200, "isv.INVALID_PARAMETERS");
    const records = sink
      .sentTo(`+86${phone}`)
      .filter(
        (r) => chinaDate(r.receivedAt) === params.SendDate && (!params.BizId || r.messageId === params.BizId),
      )
      .reverse();
    reply(200, "OK", {
      TotalCount: records.length,
      SmsSendDetailDTOs: {
        SmsSendDetailDTO: records.slice((page - 1) * pageSize, page * pageSize).map((r) => {
          const delivered = !undeliverable.has(r.to);
          return {
            PhoneNum: phone,
            SendStatus: delivered ? 3 : 2,
            ErrCode: delivered ? "DELIVERED" : "MK:0001",
            TemplateCode: "",
            Content: r.text,
            SendDate: chinaTime(r.receivedAt),
            ReceiveDate: chinaTime(r.at),
            OutId: r.tag,
          };
        }),
      },
    });
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const receivedAt = clock().toISOString();
    const reply: Reply = (status, code, extra = {}) => {
      answers.push({ code, at: receivedAt });
      res.writeHead(status, { "content-type": "application/json;charset=utf-8" });
      res.end(
        JSON.stringify({
          Code: code,
          Message: code === "OK" ? "OK" : code,
          RequestId: `req-${++seq}`,
          ...extra,
        }),
      );
    };
    const url = new URL(req.url ?? "/", "http://gateway");
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    if (req.method === "POST")
      Object.assign(params, Object.fromEntries(new URLSearchParams(await readBody(req))));
    else if (req.method !== "GET") return reply(405, "UnsupportedHTTPMethod");

    // The POP gateway's checks, in its order: signature fields, the key, the signature, the time, the nonce.
    const { Signature, AccessKeyId, SignatureNonce, Timestamp } = params;
    if (!Signature || !AccessKeyId || !SignatureNonce || !Timestamp) return reply(400, "IncompleteSignature");
    if (params.SignatureMethod !== "HMAC-SHA1" || params.SignatureVersion !== "1.0")
      return reply(400, "InvalidSignatureMethod");
    if (AccessKeyId !== credentials.accessKeyId) return reply(404, "InvalidAccessKeyId.NotFound");
    const expected = aliyunSignature(req.method, params, credentials.accessKeySecret);
    if (!sameSignature(expected, Signature))
      return reply(400, "SignatureDoesNotMatch", {
        Message: `Specified signature is not matched with our calculation. server string to sign is:${aliyunStringToSign(req.method, params)}`,
      });
    const at = Date.parse(Timestamp);
    if (
      !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(Timestamp) ||
      !(Math.abs(at - clock().getTime()) <= 15 * 60_000)
    )
      return reply(400, "InvalidTimeStamp.Expired");
    if (nonces.has(SignatureNonce)) return reply(400, "SignatureNonceUsed");
    nonces.add(SignatureNonce);
    if (params.Version === "2017-05-25" && params.Action === "QuerySendDetails") return query(params, reply);
    if (params.Action !== "SendSms" || params.Version !== "2017-05-25")
      return reply(404, "InvalidAction.NotFound");

    const injectedCode = injected.shift();
    if (injectedCode) return reply(200, injectedCode);
    const numbers = (params.PhoneNumbers ?? "").split(",").map((n) => n.replace(/^86(?=1\d{10}$)/, ""));
    if (!numbers.length || numbers.some((n) => !MAINLAND.test(n)))
      return reply(200, "isv.MOBILE_NUMBER_ILLEGAL");
    const sign = params.SignName ?? "";
    if (!sign || (options.signNames && !options.signNames.includes(sign)))
      return reply(200, "isv.SMS_SIGNATURE_ILLEGAL");
    const code = params.TemplateCode ?? "";
    const template = options.templates ? options.templates[code] : code ? "" : undefined;
    if (template === undefined) return reply(200, "isv.SMS_TEMPLATE_ILLEGAL");
    let values: Record<string, unknown>;
    try {
      values = params.TemplateParam ? (JSON.parse(params.TemplateParam) as Record<string, unknown>) : {};
    } catch {
      return reply(200, "isv.INVALID_JSON_PARAM");
    }
    const missing = [...template.matchAll(/\$\{(\w+)\}/g)].some((m) => values[m[1]!] === undefined);
    if (missing) return reply(200, "isv.TEMPLATE_MISSING_PARAMETERS");
    const fault = await sink.drawFault();
    if (fault === "fail") return reply(500, "isp.SYSTEM_ERROR");
    if (fault === "throttle") return reply(200, "isv.BUSINESS_LIMIT_CONTROL");
    const body = options.templates
      ? template.replace(/\$\{(\w+)\}/g, (_, name: string) => String(values[name]))
      : `${code} ${params.TemplateParam ?? "{}"}`;
    const bizId = `${Date.now()}${String(++seq).padStart(6, "0")}^0`;
    for (const n of numbers) {
      const record = sink.accept(
        { to: `+86${n}`, text: `【${sign}】${body}`, tag: params.OutId ?? "" },
        receivedAt,
        bizId,
      );
      const delivered = !undeliverable.has(record.to);
      receipts.push({
        acknowledged: false,
        body: {
          phone_number: n,
          send_time: chinaTime(record.receivedAt),
          report_time: chinaTime(record.at),
          success: delivered,
          err_code: delivered ? "DELIVERED" : "MK:0001",
          err_msg: delivered ? "用户接收成功" : "用户停机或空号",
          sms_size: "1",
          biz_id: bizId,
          out_id: params.OutId ?? "",
        },
      });
    }
    if (fault === "timeout") {
      await sink.hang();
      res.destroy();
      return;
    }
    reply(200, "OK", { BizId: bizId });
  };
  // Aliyun's push expects {"code": 0} back; anything else is pushed again.
  return listen(handle, sink, answers, injected, receipts, (a) => (a as { code?: unknown })?.code === 0);
}

/** Codes Tencent reports per number in SendStatusSet rather than as the request's Error. */
const PER_NUMBER =
  /^(LimitExceeded\.|InvalidParameterValue\.IncorrectPhoneNumber|FailedOperation\.PhoneNumber)/;

/** Tencent Cloud SMS (API 2021-01-11): `SendSms`, POST JSON, TC3-HMAC-SHA256. */
export async function startTencentSmsGateway(
  sink: SmsSink,
  credentials: TencentCredentials,
  options: VendorGatewayOptions & { appId: string },
): Promise<VendorGateway> {
  const clock = options.clock ?? (() => new Date());
  const answers: VendorGateway["answers"] = [];
  const injected: string[] = [];
  const receipts: Receipt[] = [];
  const undeliverable = new Set(options.undeliverable ?? []);
  let seq = 0;
  /**
   * PullSmsSendStatusByPhoneNumber: one number's delivery reports between BeginTime and EndTime (unix
   * seconds), at most 100. A report exists only once the carrier reported (here: at once), so a
   * message Tencent accepted but nobody reported on yet is not listed.
   */
  const pull = (body: Record<string, unknown>, send: (code: string, r: Record<string, unknown>) => void) => {
    const error = (code: string, message = code) => send(code, { Error: { Code: code, Message: message } });
    const phone = String(body.PhoneNumber ?? "");
    const begin = Number(body.BeginTime);
    const end = body.EndTime === undefined ? Number.POSITIVE_INFINITY : Number(body.EndTime);
    const limit = Number(body.Limit);
    const offset = Number(body.Offset ?? 0);
    if (body.SmsSdkAppId !== options.appId) return error("UnauthorizedOperation.SmsSdkAppIdVerifyFail");
    if (!/^\+861[3-9]\d{9}$/.test(phone)) return error("InvalidParameterValue.IncorrectPhoneNumber");
    if (!Number.isInteger(begin) || !(end >= begin) || !Number.isInteger(limit) || limit < 1 || limit > 100)
      return error("InvalidParameter", "BeginTime, EndTime and Limit (1-100) are required");
    const set = sink
      .sentTo(phone)
      .filter((r) => {
        const t = Math.floor(Date.parse(r.receivedAt) / 1000);
        return t >= begin && t <= end;
      })
      .slice(offset, offset + limit)
      .map((r) => {
        const delivered = !undeliverable.has(r.to);
        return {
          UserReceiveTime: Math.floor(Date.parse(r.at) / 1000),
          CountryCode: "86",
          SubscriberNumber: phone.slice(3),
          PhoneNumber: phone,
          SerialNo: r.messageId,
          ReportStatus: delivered ? "SUCCESS" : "FAIL",
          Description: delivered ? "DELIVRD" : "MK:0001",
          SessionContext: r.tag,
        };
      });
    send("Ok", { PullSmsSendStatusSet: set });
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const receivedAt = clock().toISOString();
    const requestId = `req-${++seq}`;
    const send = (code: string, response: Record<string, unknown>) => {
      answers.push({ code, at: receivedAt });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ Response: { ...response, RequestId: requestId } }));
    };
    // API 3.0 answers errors with HTTP 200 and Response.Error.
    const error = (code: string, message = code) => send(code, { Error: { Code: code, Message: message } });
    if (req.method !== "POST") return error("InvalidParameter", "POST only");
    const payload = await readBody(req);
    const h = req.headers;
    const auth =
      /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d\d-\d\d)\/([^/]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
        String(h.authorization ?? ""),
      );
    if (!auth) return error("AuthFailure.InvalidAuthorization");
    const [, secretId, date, service, signedHeaders, signature] = auth as unknown as string[];
    if (secretId !== credentials.secretId) return error("AuthFailure.SecretIdNotFound");
    const timestamp = Number(h["x-tc-timestamp"]);
    if (!Number.isInteger(timestamp) || Math.abs(timestamp * 1000 - clock().getTime()) > 5 * 60_000)
      return error("AuthFailure.SignatureExpire");
    const names = signedHeaders!.split(";");
    if (!names.includes("content-type") || !names.includes("host"))
      return error("AuthFailure.SignatureFailure");
    const expected = tc3Sign({
      secretId: secretId!,
      secretKey: credentials.secretKey,
      service: service!,
      headers: Object.fromEntries(names.map((n) => [n, String(h[n] ?? "")])),
      payload,
      timestamp,
    });
    if (
      service !== "sms" ||
      date !== expected.credentialScope.slice(0, 10) ||
      !sameSignature(expected.signature, signature!)
    )
      return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.");
    const action = h["x-tc-action"];
    if (action !== "SendSms" && action !== "PullSmsSendStatusByPhoneNumber") return error("InvalidAction");
    if (h["x-tc-version"] !== "2021-01-11") return error("NoSuchVersion");
    if (action === "PullSmsSendStatusByPhoneNumber") {
      let query: Record<string, unknown>;
      try {
        query = JSON.parse(payload) as Record<string, unknown>;
      } catch {
        return error("InvalidParameter", "body is not JSON");
      }
      return pull(query, send);
    }

    let body: {
      PhoneNumberSet?: string[];
      SmsSdkAppId?: string;
      SignName?: string;
      TemplateId?: string;
      TemplateParamSet?: string[];
      SessionContext?: string;
    };
    try {
      body = JSON.parse(payload);
    } catch {
      return error("InvalidParameter", "body is not JSON");
    }
    const numbers = body.PhoneNumberSet ?? [];
    const status = (code: string, message: string, extra: Record<string, unknown> = {}) =>
      numbers.map((n) => ({
        PhoneNumber: n,
        Code: code,
        Message: message,
        SessionContext: body.SessionContext ?? "",
        ...extra,
      }));
    const injectedCode = injected.shift();
    if (injectedCode)
      return PER_NUMBER.test(injectedCode)
        ? send(injectedCode, { SendStatusSet: status(injectedCode, injectedCode, { SerialNo: "", Fee: 0 }) })
        : error(injectedCode);
    if (body.SmsSdkAppId !== options.appId) return error("UnauthorizedOperation.SmsSdkAppIdVerifyFail");
    const sign = body.SignName ?? "";
    if (!sign || (options.signNames && !options.signNames.includes(sign)))
      return error("FailedOperation.SignatureIncorrectOrUnapproved");
    const code = body.TemplateId ?? "";
    const template = options.templates ? options.templates[code] : code ? "" : undefined;
    if (template === undefined) return error("FailedOperation.TemplateIncorrectOrUnapproved");
    const values = body.TemplateParamSet ?? [];
    const slots = new Set([...template.matchAll(/\{(\d+)\}/g)].map((m) => m[1]));
    if (options.templates && slots.size !== values.length)
      return error("FailedOperation.TemplateParamSetNotMatchApprovedTemplate");
    if (!numbers.length) return error("InvalidParameterValue.IncorrectPhoneNumber");
    const fault = await sink.drawFault();
    if (fault === "fail") return error("InternalError.SendAndRecvFail");
    if (fault === "throttle") return error("RequestLimitExceeded");
    const text = options.templates
      ? template.replace(/\{(\d+)\}/g, (_, i: string) => values[Number(i) - 1] ?? "")
      : `${code} ${JSON.stringify(values)}`;
    const results = numbers.map((n) => {
      const mainland = n.replace(/^\+86/, "");
      if (!MAINLAND.test(mainland))
        return {
          PhoneNumber: n,
          Code: "InvalidParameterValue.IncorrectPhoneNumber",
          Message: "invalid number",
          SerialNo: "",
          Fee: 0,
        };
      const serialNo = `2433:${Date.now()}${String(++seq).padStart(6, "0")}`;
      const record = sink.accept(
        { to: `+86${mainland}`, text: `【${sign}】${text}`, tag: body.SessionContext ?? "" },
        receivedAt,
        serialNo,
      );
      const delivered = !undeliverable.has(record.to);
      // Tencent's status callback carries the SerialNo (sid), not our SessionContext.
      receipts.push({
        acknowledged: false,
        body: {
          user_receive_time: chinaTime(record.at),
          nationcode: "86",
          mobile: mainland,
          report_status: delivered ? "SUCCESS" : "FAIL",
          errmsg: delivered ? "DELIVRD" : "MK:0001",
          description: delivered ? "用户短信送达成功" : "用户停机或空号",
          sid: serialNo,
        },
      });
      return {
        PhoneNumber: n,
        Code: "Ok",
        Message: "send success",
        SerialNo: serialNo,
        Fee: 1,
        IsoCode: "CN",
      };
    });
    if (fault === "timeout") {
      await sink.hang();
      res.destroy();
      return;
    }
    send(results[0]?.Code ?? "Ok", {
      SendStatusSet: results.map((r) => ({ ...r, SessionContext: body.SessionContext ?? "" })),
    });
  };
  // Tencent's callback expects {"result": 0} back.
  return listen(handle, sink, answers, injected, receipts, (a) => (a as { result?: unknown })?.result === 0);
}
