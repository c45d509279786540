import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { previewCampaign } from "#functions/campaign/preview.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { localTime } from "#functions/campaign/time.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { TERMINAL } from "#functions/ledger/rows.ts";
import { type DispatchServices, startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { CHANNEL_QUEUES } from "#local/sqs.ts";
import { storeRequests } from "#platform/clients.ts";
import { toMessages } from "#platform/queue.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { drainCampaigns, launchCampaign, tick } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

const DAY1_10AM = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
const DAY1_11AM = "2027-03-01T03:00:00.000Z";
const DAY2_2330 = "2027-03-02T15:30:00.000Z"; // 23:30 Asia/Shanghai
const DAY3_0830 = "2027-03-03T00:30:00.000Z"; // 08:30 Asia/Shanghai

let runtime: Runtime;
let dispatch: DispatchServices;

function sendsPerKey() {
  const counts = new Map<string, number>();
  for (const m of dispatch.sms.messages) counts.set(m.tag, (counts.get(m.tag) ?? 0) + 1);
  for (const m of dispatch.smtp.received) {
    const tag = /X-Tiercast-Key: (\S+)/i.exec(m.raw)?.[1] ?? "?";
    counts.set(tag, (counts.get(tag) ?? 0) + 1);
  }
  return counts;
}

function campaign(file: string, overrides: Record<string, unknown> = {}) {
  return parseCampaign({ ...readCampaignFile(file, runtime.config), ...overrides }, runtime.config);
}

describe("launch and dispatch on the embedded runtime (10k-customer bank)", () => {
  beforeAll(async () => {
    runtime = await localBank(10_000, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, DAY1_10AM);
    dispatch = await startDispatch(runtime);
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  it("ends every audience member in exactly one terminal decision, matching the preview", async () => {
    const dormant = campaign("examples/dormant-reactivation.json");
    const preview = await previewCampaign(
      runtime.repo,
      dormant,
      runtime.config,
      new Date(DAY1_10AM),
      runtime.secret,
    );
    const result = await launchCampaign(runtime, dormant, new Date(DAY1_10AM));
    expect(result.status).toBe("SUCCEEDED");
    const rows = await ledgerRows(runtime, dormant.campaignId);
    expect(rows).toHaveLength(preview.audience);
    expect(new Set(rows.map((r) => r.customerId)).size).toBe(rows.length);
    expect(rows.every((r) => TERMINAL.has(r.decision))).toBe(true);
    expect(result.sent).toBe(preview.eligible);
    expect(result.holdout).toBe(preview.holdout);
    expect(result.excluded).toBe(Object.values(preview.excluded).reduce((a, b) => a + b, 0));
    expect(dispatch.sms.messages.length + dispatch.smtp.received.length).toBe(result.sent);
    expect([...sendsPerKey().values()].every((n) => n === 1)).toBe(true);
  });

  it("sends nothing new when the same campaign is launched again", async () => {
    const before = dispatch.sms.messages.length + dispatch.smtp.received.length;
    const again = await launchCampaign(
      runtime,
      campaign("examples/dormant-reactivation.json"),
      new Date(DAY1_10AM),
    );
    expect(again.status).toBe("SUCCEEDED");
    expect(dispatch.sms.messages.length + dispatch.smtp.received.length).toBe(before);
  });

  it("turns duplicate SQS deliveries of every recipient into zero provider sends", async () => {
    const before = dispatch.sms.messages.length;
    const writes = () => (storeRequests.UpdateItemCommand ?? 0) + (storeRequests.PutItemCommand ?? 0);
    const writesBefore = writes();
    const rows = (await ledgerRows(runtime, "dormant-2027q1")).filter(
      (r) => r.decision === "sent" && r.channel === "sms",
    );
    const messages = toMessages(
      "dormant-2027q1",
      "sms",
      rows.map((r) => ({ customerId: r.customerId, shard: r.shard })),
    );
    for (let copy = 0; copy < 2; copy++) {
      for (let i = 0; i < messages.length; i += 10) {
        await dispatch.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: dispatch.queues.urls[CHANNEL_QUEUES.sms],
            Entries: messages
              .slice(i, i + 10)
              .map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) })),
          }),
        );
      }
    }
    const deadline = Date.now() + 60_000;
    while (dispatch.queues.depth(CHANNEL_QUEUES.sms) > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(dispatch.queues.depth(CHANNEL_QUEUES.sms)).toBe(0);
    expect(dispatch.sms.messages.length).toBe(before);
    // A settled row is recognised on the message's one read: the duplicates cost no store write at all.
    expect(writes() - writesBefore).toBe(0);
  });

  it("holds back a second same-day SMS campaign to the same customers with the frequency cap", async () => {
    setClock(runtime, DAY1_11AM);
    const referral = campaign("examples/referral-drive.json");
    const result = await launchCampaign(runtime, referral, new Date(DAY1_11AM));
    const rows = await ledgerRows(runtime, referral.campaignId);
    const capped = rows.filter((r) => r.reason === "frequency_capped");
    expect(capped.length).toBeGreaterThan(0);
    const dormantSms = new Set(
      (await ledgerRows(runtime, "dormant-2027q1"))
        .filter((r) => r.decision === "sent" && r.channel === "sms")
        .map((r) => r.customerId),
    );
    // Caps hold per customer and per phone number: a customer sharing a phone with a dormant recipient is capped too.
    const dormantPhones = new Set(
      dispatch.sms.messages.filter((m) => m.tag.startsWith("dormant-2027q1#")).map((m) => m.to),
    );
    const phoneOf = async (customerId: string) => (await getCustomer(runtime.repo, customerId))?.phone;
    for (const r of capped)
      expect(dormantSms.has(r.customerId) || dormantPhones.has((await phoneOf(r.customerId))!)).toBe(true);
    for (const r of rows.filter((x) => x.decision === "sent")) {
      expect(dormantSms.has(r.customerId)).toBe(false);
      expect(dormantPhones.has((await phoneOf(r.customerId))!)).toBe(false);
    }
    expect(result.sent + capped.length).toBeGreaterThan(0);
  });

  it("defers everything at 23:30 Asia/Shanghai and sends it with tick at 08:30", {
    timeout: 300_000,
  }, async () => {
    setClock(runtime, DAY2_2330);
    const night = campaign("examples/referral-drive.json", { campaignId: "referral-night" });
    const before = dispatch.sms.messages.length;
    const launched = await launchCampaign(runtime, night, new Date(DAY2_2330));
    expect(launched.sent).toBe(0);
    expect(launched.deferred).toBeGreaterThan(1000);
    expect(dispatch.sms.messages.length).toBe(before);

    setClock(runtime, DAY3_0830);
    const ticked = await tick(runtime);
    expect(ticked.released).toBe(launched.deferred);
    // Caps hold per phone number too: a few customers share a phone with an earlier recipient.
    expect(ticked.sent + ticked.excluded).toBe(launched.deferred);
    expect(ticked.excluded).toBeLessThan(launched.deferred / 50);
    const rows = await ledgerRows(runtime, "referral-night");
    for (const row of rows.filter((r) => r.decision === "sent")) {
      const { minutes } = localTime(new Date(row.sentAt!), "Asia/Shanghai");
      expect(minutes).toBeGreaterThanOrEqual(8 * 60);
      expect(minutes).toBeLessThan(22 * 60);
    }
    await drainCampaigns(runtime, ["referral-night"]);
  });
});
