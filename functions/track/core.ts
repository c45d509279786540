import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { ApiDeps, ApiRequest, ApiResponse } from "#functions/api/http.ts";
import { unsubscribeToken, verifyTrackingToken } from "#functions/campaign/decide.ts";
import { loadCampaign } from "#functions/campaign/record.ts";
import { eventDepsOf, ingestEvent } from "#functions/events/core.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import { verifyWebhook } from "#functions/receipts/core.ts";
import { ingestVendorPush, type ReceiptVendor, verifyReceiptToken } from "#functions/receipts/vendor.ts";
import { IsoInstant } from "#platform/dates.ts";
import { shardOf } from "#platform/hash.ts";
import { key } from "#platform/table.ts";

// 1×1 transparent GIF.
const PIXEL = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

const page = (status: number, title: string, text: string, html = ""): ApiResponse => ({
  status,
  headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  body: `<!doctype html><html lang="zh"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title><body style="font-family:sans-serif;max-width:32rem;margin:3rem auto"><h1>${title}</h1><p>${text}</p>${html}</body></html>`,
});

const escapeHtml = (v: string) => v.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

type TrackDeps = Pick<ApiDeps, "repo" | "config" | "secret" | "now">;

async function record(
  deps: TrackDeps,
  type: "clicked" | "opened" | "opted_out",
  row: LedgerRow,
  idPrefix: string,
) {
  return ingestEvent(
    {
      // One event per recipient and kind: the first click (or open) moves the funnel, later ones are duplicates.
      eventId: `${idPrefix}:${row.campaignId}:${row.customerId}`,
      type,
      customerId: row.customerId,
      campaignId: row.campaignId,
      ...(row.channel ? { channel: type === "opted_out" ? "email" : row.channel } : {}),
      at: deps.now().toISOString(),
    },
    eventDepsOf(deps),
  );
}

async function rowFor(deps: TrackDeps, campaignId: string, customerId: string) {
  return deps.repo.get<LedgerRow>(
    key.ledger(campaignId, shardOf(customerId, deps.config.shards), customerId),
  );
}

/**
 * The redirect service, the open pixel and the unsubscribe page. Links carry an HMAC, so a forged or
 * altered link counts nothing; a click only ever redirects to the campaign's own landing page (no open redirect).
 */
export async function handleTracking(req: ApiRequest, deps: TrackDeps): Promise<ApiResponse | undefined> {
  if (req.method === "POST" && req.path === "/hooks/sms") return smsWebhook(req, deps);
  const vendor = /^\/hooks\/sms\/(aliyun|tencent)$/.exec(req.path)?.[1] as ReceiptVendor | undefined;
  if (req.method === "POST" && vendor) return vendorReceipts(vendor, req, deps);
  if (req.path === "/u" && (req.method === "GET" || req.method === "POST")) return unsubscribe(req, deps);
  if (req.method !== "GET") return undefined;
  let m = /^\/t\/c\/([A-Za-z0-9_.-]+)$/.exec(req.path);
  if (m) {
    const ids = verifyTrackingToken(deps.secret, m[1]!);
    const row = ids && (await rowFor(deps, ids.campaignId, ids.customerId));
    const campaign = row && (await loadCampaign(deps.repo, row.campaignId).catch(() => undefined));
    const url = campaign?.campaign.variants.find((v) => v.id === row?.variant)?.url;
    if (!row || !url) return page(404, "链接无效 Link not valid", "This link is not valid or has expired.");
    await record(deps, "clicked", row, "click");
    return { status: 302, headers: { location: url, "cache-control": "no-store" }, body: "" };
  }
  m = /^\/t\/o\/([A-Za-z0-9_.-]+)\.gif$/.exec(req.path);
  if (m) {
    const ids = verifyTrackingToken(deps.secret, m[1]!);
    const row = ids && (await rowFor(deps, ids.campaignId, ids.customerId));
    if (row) await record(deps, "opened", row, "open");
    // Always the pixel: a mail client shows nothing either way, and a bad token learns nothing.
    return {
      status: 200,
      headers: { "content-type": "image/gif", "cache-control": "no-store" },
      body: PIXEL.toString("base64"),
      isBase64Encoded: true,
    };
  }
  return undefined;
}

/**
 * RFC 8058 one-click unsubscribe. Mail providers POST `List-Unsubscribe=One-Click` to the header's URL:
 * that opts out. A GET (a person's click, or a link scanner fetching every URL in a mail) only shows a
 * page whose button makes that POST, so a scanner never opts anyone out.
 */
async function unsubscribe(req: ApiRequest, deps: TrackDeps): Promise<ApiResponse> {
  const { c, r, t } = req.query;
  const expected = c && r ? unsubscribeToken(deps.secret, c, r) : "";
  // Compare bytes, not characters: a multibyte `t` of the right length would make timingSafeEqual throw.
  const got = Buffer.from(t ?? "");
  const want = Buffer.from(expected);
  const ok = expected && got.length === want.length && timingSafeEqual(got, want);
  const row = ok ? await rowFor(deps, c!, r!) : undefined;
  if (!row) return page(404, "链接无效 Link not valid", "This unsubscribe link is not valid.");
  if (req.method === "GET") {
    const action = `/u?c=${encodeURIComponent(c!)}&r=${encodeURIComponent(r!)}&t=${encodeURIComponent(t!)}`;
    return page(
      200,
      "退订营销邮件 Unsubscribe",
      "确认后您将不再收到营销邮件。Confirm to receive no more marketing email.",
      `<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">确认退订 Unsubscribe</button></form>`,
    );
  }
  await record(deps, "opted_out", row, "unsub");
  return page(200, "已退订 Unsubscribed", "您将不再收到营销邮件。You will receive no more marketing email.");
}

/**
 * A domestic vendor's delivery receipts (Aliyun SmsReport batch push, Tencent status callback), at the
 * callback URL set in its console with our token. Answered in the vendor's own terms: `{"code":0}` /
 * `{"result":0}` once every report is recorded (or is not ours), so it pushes again only what failed.
 */
async function vendorReceipts(vendor: ReceiptVendor, req: ApiRequest, deps: TrackDeps): Promise<ApiResponse> {
  const reply = (status: number, body: unknown): ApiResponse => ({
    status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!verifyReceiptToken(deps.secret, vendor, req.query.token))
    return reply(401, { error: "bad_token", message: "missing or wrong token in the callback URL" });
  const result = await ingestVendorPush(vendor, req.body, eventDepsOf(deps), deps.now().toISOString());
  if (result.status === "bad_input") return reply(400, { error: "bad_input", message: result.message });
  const counts = { accepted: 0, duplicate: 0, ignored: 0, rejected: 0 };
  for (const o of result.outcomes) counts[o.status]++;
  return reply(
    200,
    vendor === "aliyun" ? { code: 0, msg: "接收成功", ...counts } : { result: 0, errmsg: "OK", ...counts },
  );
}

/** The SMS gateway webhook's body (also the OpenAPI document's). */
export const HookBody = z.object({
  type: z.enum(["delivered", "failed", "replied"]),
  /** The tag we sent with the message: campaignId#customerId#channel. */
  tag: z.string().min(3).max(300),
  messageId: z.string().min(1).max(300),
  at: IsoInstant,
  text: z.string().max(1000).optional(),
  eventId: z.string().min(1).max(200).optional(),
});

/**
 * Delivery receipts and replies from an HTTP SMS gateway. The body must carry the gateway's HMAC
 * (`x-tiercast-signature: sha256=…`); anything unsigned or altered is refused before it is read.
 */
async function smsWebhook(req: ApiRequest, deps: TrackDeps): Promise<ApiResponse> {
  const reply = (status: number, body: unknown): ApiResponse => ({
    status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!verifyWebhook(deps.secret, req.body, req.headers["x-tiercast-signature"]))
    return reply(401, { error: "bad_signature", message: "missing or wrong x-tiercast-signature" });
  let raw: unknown;
  try {
    raw = JSON.parse(req.body);
  } catch {
    return reply(400, { error: "bad_input", message: "the body is not JSON" });
  }
  const parsed = HookBody.safeParse(raw);
  if (!parsed.success)
    return reply(400, {
      error: "bad_input",
      message: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    });
  const h = parsed.data;
  const first = h.tag.indexOf("#");
  const last = h.tag.lastIndexOf("#");
  if (first < 1 || last <= first)
    return reply(400, { error: "bad_input", message: "tag: not a Tiercast send tag" });
  const outcome = await ingestEvent(
    {
      eventId: h.eventId ?? `hook:${h.messageId}:${h.type}${h.type === "replied" ? `:${h.at}` : ""}`,
      type: h.type,
      campaignId: h.tag.slice(0, first),
      customerId: h.tag.slice(first + 1, last),
      channel: "sms",
      at: new Date(h.at).toISOString(),
      messageId: h.messageId,
      ...(h.text ? { text: h.text } : {}),
    },
    eventDepsOf(deps),
  );
  // A rejected event is an error like any other: the API's envelope, not the outcome.
  if (outcome.status === "rejected") return reply(400, { error: "bad_input", message: outcome.error });
  return reply(200, outcome);
}
