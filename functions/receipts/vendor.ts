import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { messagePointerKey } from "#functions/dispatch/core.ts";
import { type Event, type EventDeps, type IngestOutcome, ingestEvent } from "#functions/events/core.ts";
import { mapLimit } from "#platform/repo.ts";

/**
 * Delivery receipts of the domestic SMS vendors (AWS China), in their own push formats, turned into
 * the same delivered/failed events End User Messaging's receipts become on AWS (receipts/core.ts):
 *
 * - Alibaba Cloud's SmsReport, HTTP batch push: a JSON array of reports, each with our OutId (`out_id`,
 *   the send key) and the vendor's BizId. It expects `{"code": 0}` back, and pushes again otherwise.
 * - Tencent Cloud's status callback: a JSON array of reports naming the SerialNo (`sid`) and the
 *   number, not our SessionContext; the message pointer the worker writes per Tencent send finds the
 *   row. It expects `{"result": 0}` back.
 *
 * Each report's event id is the vendor's id and status, so a redelivered push is a duplicate and
 * changes nothing. Neither vendor signs its pushes: the callback URL carries a token (an HMAC of the
 * deployment's secret, `receiptToken`), set once in the vendor's console; a push without it is refused
 * before it is read.
 */

export type ReceiptVendor = "aliyun" | "tencent";

/** The token of a vendor's callback URL (`/hooks/sms/<vendor>?token=…`). */
export function receiptToken(secret: string, vendor: ReceiptVendor): string {
  return createHmac("sha256", `sms-receipts#${secret}`).update(vendor).digest("base64url").slice(0, 32);
}

export function verifyReceiptToken(secret: string, vendor: ReceiptVendor, token: string | undefined) {
  if (!token) return false;
  const expected = Buffer.from(receiptToken(secret, vendor));
  const got = Buffer.from(token);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** `yyyy-MM-dd HH:mm:ss` in China Standard Time (both vendors' format) → ISO instant. */
function fromChinaTime(value: string | undefined): string | undefined {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)$/.exec(value ?? "");
  if (!m) return undefined;
  const t = Date.parse(`${m[1]}T${m[2]}+08:00`);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** The send key we gave the vendor (`campaignId#customerId#channel`) → whose send it is. */
function idsFromSendKey(sendKey: string): { campaignId: string; customerId: string } | undefined {
  const first = sendKey.indexOf("#");
  const last = sendKey.lastIndexOf("#");
  if (first < 1 || last <= first || sendKey.slice(last + 1) !== "sms") return undefined;
  return { campaignId: sendKey.slice(0, first), customerId: sendKey.slice(first + 1, last) };
}

export const AliyunReport = z.object({
  phone_number: z.string().max(32).optional(),
  send_time: z.string().max(32).optional(),
  report_time: z.string().max(32).optional(),
  success: z.boolean(),
  err_code: z.string().max(64).optional(),
  err_msg: z.string().max(200).optional(),
  sms_size: z.string().max(8).optional(),
  biz_id: z.string().min(1).max(128),
  out_id: z.string().max(300).optional(),
});

export const TencentReport = z.object({
  user_receive_time: z.string().max(32).optional(),
  nationcode: z.string().max(8).optional(),
  mobile: z.string().max(32).optional(),
  report_status: z.enum(["SUCCESS", "FAIL"]),
  errmsg: z.string().max(64).optional(),
  description: z.string().max(200).optional(),
  sid: z.string().min(1).max(128),
});

/** One Aliyun SmsReport → our event; undefined for a report that is not about one of our sends. */
export function fromAliyunReport(
  report: z.infer<typeof AliyunReport>,
  receivedAt: string,
): Event | undefined {
  const ids = report.out_id ? idsFromSendKey(report.out_id) : undefined;
  if (!ids) return undefined;
  const type = report.success ? "delivered" : "failed";
  return {
    eventId: `aliyun:${report.biz_id}:${report.phone_number ?? ""}:${type}`,
    type,
    ...ids,
    channel: "sms",
    at: fromChinaTime(report.report_time) ?? receivedAt,
    messageId: report.biz_id,
  };
}

/** One Tencent status report → our event, through the message pointer of its SerialNo. */
export async function fromTencentReport(
  report: z.infer<typeof TencentReport>,
  deps: EventDeps,
  receivedAt: string,
): Promise<Event | undefined> {
  const pointer = await deps.repo.get<{ campaignId: string; customerId: string }>(
    messagePointerKey(report.sid),
  );
  if (!pointer) return undefined;
  const type = report.report_status === "SUCCESS" ? "delivered" : "failed";
  return {
    eventId: `tencent:${report.sid}:${type}`,
    type,
    campaignId: pointer.campaignId,
    customerId: pointer.customerId,
    channel: "sms",
    at: fromChinaTime(report.user_receive_time) ?? receivedAt,
    messageId: report.sid,
  };
}

export type VendorPushResult =
  | { status: "bad_input"; message: string }
  | { status: "ok"; outcomes: (IngestOutcome | { status: "ignored" })[] };

/** A vendor's push (a JSON array of reports) → one ingested event per report of ours, each once. */
export async function ingestVendorPush(
  vendor: ReceiptVendor,
  body: string,
  deps: EventDeps,
  receivedAt: string,
): Promise<VendorPushResult> {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { status: "bad_input", message: "the body is not JSON" };
  }
  const schema = z.array(vendor === "aliyun" ? AliyunReport : TencentReport).max(1000);
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    return {
      status: "bad_input",
      message: parsed.error.issues
        .slice(0, 10)
        .map((i) => `${i.path.join(".")}: ${i.message}`)
        .join("; "),
    };
  const outcomes = await mapLimit(parsed.data, 8, async (report) => {
    const event =
      vendor === "aliyun"
        ? fromAliyunReport(report as z.infer<typeof AliyunReport>, receivedAt)
        : await fromTencentReport(report as z.infer<typeof TencentReport>, deps, receivedAt);
    return event ? ingestEvent(event, deps) : ({ status: "ignored" } as const);
  });
  return { status: "ok", outcomes };
}
