import { describe, expect, it } from "vitest";
import { trackingToken, verifyTrackingToken } from "#functions/campaign/decide.ts";
import { receiptTag } from "#functions/dispatch/providers.ts";
import {
  fromSes,
  fromSmsEvent,
  idsFromTag,
  verifyWebhook,
  webhookSignature,
} from "#functions/receipts/core.ts";

const SECRET = "s".repeat(32);
const tag = receiptTag("dormant-2027q1", "C#42");

describe("provider receipts", () => {
  it("round-trips the ids through the SES tag alphabet", () => {
    expect(tag).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(idsFromTag(tag)).toEqual({ campaignId: "dormant-2027q1", customerId: "C#42" });
  });

  it("maps SES events, ignoring transient bounces and untagged mail", () => {
    const mail = { messageId: "m1", timestamp: "2027-03-01T02:00:00Z", tags: { tiercast: [tag] } };
    expect(fromSes({ eventType: "Open", mail, open: { timestamp: "2027-03-01T03:00:00Z" } })).toMatchObject({
      eventId: "ses:m1:Open",
      type: "opened",
      customerId: "C#42",
      at: "2027-03-01T03:00:00Z",
    });
    expect(fromSes({ eventType: "Complaint", mail })?.type).toBe("opted_out");
    expect(fromSes({ eventType: "Bounce", mail, bounce: { bounceType: "Transient" } })).toBeUndefined();
    expect(fromSes({ eventType: "Bounce", mail, bounce: { bounceType: "Permanent" } })?.type).toBe("failed");
    expect(fromSes({ eventType: "Delivery", mail: { messageId: "m2" } })).toBeUndefined();
  });

  it("maps End User Messaging SMS events by their context", () => {
    const e = {
      eventType: "TEXT_DELIVERED",
      messageId: "sm1",
      eventTimestamp: 0,
      context: { tiercast: tag },
    };
    expect(fromSmsEvent(e)).toMatchObject({ type: "delivered", eventId: "sms:sm1:TEXT_DELIVERED" });
    expect(fromSmsEvent({ ...e, eventType: "TEXT_UNREACHABLE" })?.type).toBe("failed");
    expect(fromSmsEvent({ ...e, eventType: "TEXT_QUEUED" })).toBeUndefined();
  });

  it("accepts only webhooks signed over the exact body", () => {
    const body = '{"type":"delivered"}';
    expect(verifyWebhook(SECRET, body, webhookSignature(SECRET, body))).toBe(true);
    expect(verifyWebhook(SECRET, `${body} `, webhookSignature(SECRET, body))).toBe(false);
    expect(verifyWebhook(SECRET, body, webhookSignature("other-secret-other-secret", body))).toBe(false);
    expect(verifyWebhook(SECRET, body, undefined)).toBe(false);
  });

  it("verifies tracking tokens and rejects altered ones", () => {
    const t = trackingToken(SECRET, "c1", "C1");
    expect(verifyTrackingToken(SECRET, t)).toEqual({ campaignId: "c1", customerId: "C1" });
    // The ids are not readable from the link.
    expect(Buffer.from(t.split(".")[0]!, "base64url").toString()).not.toContain("C1");
    expect(t).not.toContain(Buffer.from("c1\nC1").toString("base64url"));
    // Flip one bit of the encrypted ids: it decrypts to other ids, whose MAC does not match.
    const enc = Buffer.from(t.split(".")[0]!, "base64url");
    enc[enc.length - 1]! ^= 1;
    expect(verifyTrackingToken(SECRET, `${enc.toString("base64url")}.${t.split(".")[1]}`)).toBeUndefined();
    expect(verifyTrackingToken("another-secret-another-secret!!", t)).toBeUndefined();
    expect(verifyTrackingToken(SECRET, "garbage")).toBeUndefined();
  });
});

describe("domestic vendors' receipts (AWS China)", () => {
  it("reads Aliyun's SmsReport push as the vendor documents it: our OutId, China time", async () => {
    const { fromAliyunReport } = await import("#functions/receipts/vendor.ts");
    const report = {
      phone_number: "13800138000",
      send_time: "2027-03-01 10:00:00",
      report_time: "2027-03-01 10:00:03",
      success: true,
      err_code: "DELIVERED",
      err_msg: "用户接收成功",
      sms_size: "1",
      biz_id: "900619746936498440^0",
      out_id: "dormant-2027q1#C#42#sms",
    };
    expect(fromAliyunReport(report, "2027-03-01T02:01:00.000Z")).toEqual({
      eventId: "aliyun:900619746936498440^0:13800138000:delivered",
      type: "delivered",
      campaignId: "dormant-2027q1",
      customerId: "C#42",
      channel: "sms",
      at: "2027-03-01T02:00:03.000Z",
      messageId: "900619746936498440^0",
    });
    expect(fromAliyunReport({ ...report, success: false }, "x")?.type).toBe("failed");
    // Not one of our sends (another system's OutId, or none): not attributed.
    expect(fromAliyunReport({ ...report, out_id: "12345" }, "x")).toBeUndefined();
    expect(fromAliyunReport({ ...report, out_id: undefined }, "x")).toBeUndefined();
  });

  it("refuses a callback token of another vendor or another deployment", async () => {
    const { receiptToken, verifyReceiptToken } = await import("#functions/receipts/vendor.ts");
    const token = receiptToken(SECRET, "aliyun");
    expect(verifyReceiptToken(SECRET, "aliyun", token)).toBe(true);
    expect(verifyReceiptToken(SECRET, "tencent", token)).toBe(false);
    expect(verifyReceiptToken("t".repeat(32), "aliyun", token)).toBe(false);
    expect(verifyReceiptToken(SECRET, "aliyun", undefined)).toBe(false);
  });
});
