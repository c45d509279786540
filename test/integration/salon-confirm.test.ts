import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Campaign, parseCampaign } from "#functions/campaign/schema.ts";
import { markPhoneWrong, readContact, recordOptOut } from "#functions/contact/gate.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { processDispatch } from "#functions/dispatch/core.ts";
import { httpSmsProvider } from "#functions/dispatch/providers.ts";
import { eventDepsOf, ingestEvent, ingestRecords } from "#functions/events/core.ts";
import { salonStatus } from "#functions/events/salon.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import { releaseDue } from "#functions/release/core.ts";
import { type DispatchServices, startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { shardOf } from "#platform/hash.ts";
import { Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign, tick } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

// 10:00 in Shanghai on 5 March: after both salon waves, before the event (15 March). The invitations go
// out this day, so a marketing SMS the same day would be capped (caps.perChannelPerDay is 1).
const AT = "2027-03-05T02:00:00.000Z";
let runtime: Runtime;
let dispatch: DispatchServices;

const deps = () => eventDepsOf(runtime.app.base());
const ingest = (events: Record<string, unknown>[]) =>
  ingestRecords(
    events.map((value, line) => ({ line: line + 1, value })),
    deps(),
  );
const reply = (campaignId: string, customerId: string, eventId: string, text: string, at: string) => ({
  eventId,
  type: "replied",
  customerId,
  campaignId,
  channel: "sms",
  text,
  at,
});

/**
 * The runtime's table through a client that fails the writes `cut` picks (as a crash or a throttled
 * write there would): the run stops at that write, everything before it stays.
 */
function cutShort(cut: (command: unknown) => boolean) {
  const ddb = {
    send(command: unknown) {
      if (cut(command))
        return Promise.reject(
          Object.assign(new Error("cut short"), { name: "ProvisionedThroughputExceededException" }),
        );
      return runtime.repo.ddb.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  return { ...deps(), repo: new Repo(ddb, runtime.repo.table) };
}
const beforeSeat = (c: unknown) => c instanceof UpdateCommand && c.input.Key?.SK === "SEATS";
const beforeStatus = (c: unknown) =>
  c instanceof PutCommand &&
  String(c.input.Item?.SK).startsWith("RSVP#") &&
  c.input.Item?.status !== "pending";

async function phoneOf(customerId: string) {
  return (await getCustomer(runtime.repo, customerId))!.phone!;
}
/** The SMS the gateway accepted for this phone whose text contains `fragment`. */
const smsTo = (phone: string, fragment: string) =>
  dispatch.sms.messages.filter((m) => m.to === phone && m.text.includes(fragment));
const rowOf = async (campaignId: string, customerId: string): Promise<LedgerRow | undefined> =>
  (await ledgerRows(runtime, campaignId)).find((r) => r.customerId === customerId);

async function launchSalon(overrides: (base: Campaign) => Campaign, at: string) {
  const base = readCampaignFile("examples/salon-invite.json", runtime.config);
  const salon = parseCampaign(overrides(base), runtime.config);
  setClock(runtime, at);
  await launchCampaign(runtime, salon, new Date(at));
  const invited = (await ledgerRows(runtime, salon.campaignId))
    .filter((r) => r.decision === "sent" && r.channel === "sms")
    .map((r) => r.customerId);
  return { salon, invited };
}

describe("salon RSVP confirmation by SMS (a transactional send through the ledger and dispatch)", () => {
  let salon: Campaign;
  let invited: string[];
  beforeAll(async () => {
    runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
    dispatch = await startDispatch(runtime);
    ({ salon, invited } = await launchSalon((b) => ({ ...b, event: { ...b.event!, capacity: 1 } }), AT));
    expect(invited.length).toBeGreaterThanOrEqual(8);
  }, 180_000);
  afterAll(async () => runtime?.stop());

  it("answers a yes the same day as the invitation (no marketing cap): the seat, then the waitlist, once per customer", async () => {
    const [a, b] = invited as [string, string];
    const [phoneA, phoneB] = [await phoneOf(a), await phoneOf(b)];
    setClock(runtime, "2027-03-05T03:00:00.000Z");
    const first = reply(salon.campaignId, a, "yes-a", "Y", "2027-03-05T03:00:00Z");
    await ingest([first]);
    await ingest([first]); // the same event redelivered
    await ingest([reply(salon.campaignId, a, "yes-a-again", " 是 ", "2027-03-05T03:01:00Z")]);
    await ingest([reply(salon.campaignId, b, "yes-b", "y", "2027-03-05T03:02:00Z")]);
    expect(await salonStatus(runtime.repo, salon.event!.eventId)).toMatchObject({
      seatsTaken: 1,
      confirmed: 1,
      waitlisted: 1,
    });
    setClock(runtime, "2027-03-05T03:05:00.000Z");
    await tick(runtime);
    await tick(runtime); // a second release finds nothing due
    expect(smsTo(phoneA, "成功报名")).toHaveLength(1);
    expect(smsTo(phoneA, "候补")).toHaveLength(0);
    expect(smsTo(phoneB, "候补名单")).toHaveLength(1);
    expect(smsTo(phoneB, "成功报名")).toHaveLength(0);
    // A's second yes (not the first one redelivered) is answered "we have your reply", once; B's only yes is not.
    expect(smsTo(phoneA, "无需再次回复")).toHaveLength(1);
    expect(smsTo(phoneB, "无需再次回复")).toHaveLength(0);
    const rowA = await rowOf(`${salon.campaignId}-rsvp`, a);
    expect(rowA).toMatchObject({ decision: "sent", variant: "SEAT", transactional: true, attempts: 1 });
    expect(await rowOf(`${salon.campaignId}-rsvp`, b)).toMatchObject({ decision: "sent", variant: "WAIT" });
    // A transactional send takes no cap slot: the contact state's recent sends hold the invitation only.
    const state = await readContact(runtime.repo, key.contactState(a));
    expect((state.recent ?? []).map((r) => r.c)).toEqual([salon.campaignId]);
    // The reply once more, after the confirmation went: nothing new.
    await ingest([reply(salon.campaignId, a, "yes-a-third", "Y", "2027-03-05T03:10:00Z")]);
    await tick(runtime);
    expect(smsTo(phoneA, "成功报名")).toHaveLength(1);
  });

  it("defers a reply at 23:00 to 08:00, then sends it (quiet hours hold it, nothing is lost)", async () => {
    const c = invited[2]!;
    const phone = await phoneOf(c);
    setClock(runtime, "2027-03-05T15:00:00.000Z"); // 23:00 in Shanghai
    await ingest([reply(salon.campaignId, c, "yes-c-night", "Y", "2027-03-05T15:00:00Z")]);
    expect(await rowOf(`${salon.campaignId}-rsvp`, c)).toMatchObject({
      decision: "deferred",
      dueAt: "2027-03-06T00:00:00.000Z",
      transactional: true,
    });
    setClock(runtime, "2027-03-05T15:05:00.000Z");
    await tick(runtime);
    expect(smsTo(phone, "候补")).toHaveLength(0);
    setClock(runtime, "2027-03-06T00:00:30.000Z");
    await tick(runtime);
    const sent = smsTo(phone, "候补名单");
    expect(sent).toHaveLength(1);
    expect(sent[0]!.receivedAt >= "2027-03-06T00:00:00.000Z").toBe(true);
  });

  it("sends none to a customer who opted out after replying, nor to a number reported wrong", async () => {
    const [d, e] = [invited[3]!, invited[4]!];
    const [phoneD, phoneE] = [await phoneOf(d), await phoneOf(e)];
    setClock(runtime, "2027-03-06T15:00:00.000Z");
    await ingest([
      reply(salon.campaignId, d, "yes-d", "Y", "2027-03-06T15:00:00Z"),
      reply(salon.campaignId, e, "yes-e", "Y", "2027-03-06T15:00:00Z"),
    ]);
    await ingest([reply(salon.campaignId, d, "stop-d", "退订", "2027-03-06T15:10:00Z")]);
    await markPhoneWrong(runtime.repo, runtime.secret, e, "2027-03-06T15:20:00Z");
    setClock(runtime, "2027-03-07T00:01:00.000Z");
    await tick(runtime);
    expect(await rowOf(`${salon.campaignId}-rsvp`, d)).toMatchObject({
      decision: "excluded",
      reason: "opted_out",
    });
    expect(await rowOf(`${salon.campaignId}-rsvp`, e)).toMatchObject({
      decision: "excluded",
      reason: "wrong_number",
    });
    expect(smsTo(phoneD, "候补")).toHaveLength(0);
    expect(smsTo(phoneE, "候补")).toHaveLength(0);
  });

  it("confirms once when the same reply and other yeses race each other, and releases race too", async () => {
    const f = invited[5]!;
    const phone = await phoneOf(f);
    setClock(runtime, "2027-03-07T02:00:00.000Z");
    const yes = reply(salon.campaignId, f, "yes-f", "Y", "2027-03-07T02:00:00Z");
    const outcomes = await Promise.all([
      ...Array.from({ length: 6 }, () => ingestEvent(yes, deps())),
      ...Array.from({ length: 4 }, (_, i) =>
        ingestEvent(reply(salon.campaignId, f, `yes-f-${i}`, "是", "2027-03-07T02:00:01Z"), deps()),
      ),
    ]);
    expect(outcomes.every((o) => o.status !== "rejected")).toBe(true);
    await Promise.all([tick(runtime), tick(runtime), tick(runtime)]);
    await tick(runtime);
    // A tick that finds another releasing returns without waiting for that one's sends: wait for the
    // row to settle (the likely cause of one CI failure here, at load), then count.
    for (let i = 0; i < 200 && (await rowOf(`${salon.campaignId}-rsvp`, f))?.decision !== "sent"; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(smsTo(phone, "候补名单")).toHaveLength(1);
    expect(await rowOf(`${salon.campaignId}-rsvp`, f)).toMatchObject({ decision: "sent", attempts: 1 });
    expect(await salonStatus(runtime.repo, salon.event!.eventId)).toMatchObject({ confirmed: 1 });
  });

  it("answers a yes stamped ahead of our clock at the next release (a provider clock running fast)", async () => {
    const z = invited[8]!;
    setClock(runtime, "2027-03-07T02:30:00.000Z");
    await ingest([reply(salon.campaignId, z, "yes-z", "Y", "2027-03-07T02:30:05Z")]);
    await tick(runtime);
    expect(smsTo(await phoneOf(z), "候补名单")).toHaveLength(1);
  });

  it("sends no confirmation once an opt-out is stored, even inside a message being worked; a redelivered message sends nothing", async () => {
    const [x, y] = [invited[6]!, invited[7]!];
    setClock(runtime, "2027-03-07T03:00:00.000Z");
    await ingest([
      reply(salon.campaignId, x, "yes-x", "Y", "2027-03-07T03:00:00Z"),
      reply(salon.campaignId, y, "yes-y", "Y", "2027-03-07T03:00:00Z"),
    ]);
    // Released to queued without a message: this test is the worker.
    const base = runtime.app.base();
    await releaseDue({
      repo: runtime.repo,
      shards: runtime.config.shards,
      now: base.now,
      enqueue: async () => {},
    });
    const campaignId = `${salon.campaignId}-rsvp`;
    const refs = [x, y].map((customerId) => ({
      customerId,
      shard: shardOf(customerId, runtime.config.shards),
    }));
    const gateway = httpSmsProvider(dispatch.sms.endpoint);
    let first = true;
    // After the message read y's contact state, before the message's claim: the opt-out lands.
    const pace = async () => {
      if (!first) return;
      first = false;
      await recordOptOut(runtime.repo, y, "sms", "2027-03-07T03:00:30Z", runtime.secret);
    };
    const dispatchDeps = { ...base, providers: { sms: gateway }, pace, maxReceiveCount: 5, leaseMs: 30_000 };
    const message = { campaignId, channel: "sms" as const, recipients: refs };
    expect(await processDispatch(message, 1, dispatchDeps)).toEqual(["sent", "excluded"]);
    expect(await processDispatch(message, 2, dispatchDeps)).toEqual(["skipped", "skipped"]);
    expect(smsTo(await phoneOf(x), "候补名单")).toHaveLength(1);
    expect(smsTo(await phoneOf(y), "候补")).toHaveLength(0);
    expect(await rowOf(campaignId, y)).toMatchObject({ decision: "excluded", reason: "opted_out" });
  });

  it("answers in the invitation's language, and `full` when the salon keeps no waitlist", async () => {
    const english = await launchSalon(
      (b) => ({
        ...b,
        campaignId: "salon-en-2027-03",
        event: { ...b.event!, eventId: "wine-en", name: "Wine tasting", capacity: 1, waitlist: false },
        variants: b.variants.map((v) => ({
          ...v,
          subject: v.subject && "Invitation: {{eventName}}",
          template: "Dear {{name|customer}}, join us at {{eventName}} on {{eventTime}}. Reply Y to register.",
          fallbackTemplate:
            v.fallbackTemplate && "Dear {{name|customer}}, join us at {{eventName}}. Reply Y.",
        })),
      }),
      "2027-03-08T02:00:00.000Z",
    );
    const [g, h] = english.invited as [string, string];
    // One after the other: two customers' events in one file apply concurrently, so which of two yeses
    // in one file takes the last seat is not fixed (the likely cause of one CI failure here).
    await ingest([reply(english.salon.campaignId, g, "en-yes-g", "Y", "2027-03-08T02:10:00Z")]);
    await ingest([reply(english.salon.campaignId, h, "en-yes-h", "Y", "2027-03-08T02:11:00Z")]);
    setClock(runtime, "2027-03-08T02:15:00.000Z");
    await tick(runtime);
    expect(smsTo(await phoneOf(g), "your seat at Wine tasting")).toHaveLength(1);
    expect(smsTo(await phoneOf(h), "Wine tasting is full")).toHaveLength(1);
    expect(await salonStatus(runtime.repo, "wine-en")).toMatchObject({
      confirmed: 1,
      waitlisted: 0,
      full: 1,
    });
  });

  it("completes an RSVP cut short after its pending record on the reply's retry: one seat, one confirmation, also when retries race", async () => {
    const retry = await launchSalon(
      (b) => ({
        ...b,
        campaignId: "salon-retry-2027-03",
        event: { ...b.event!, eventId: "wine-retry", capacity: 2 },
      }),
      "2027-03-09T02:00:00.000Z",
    );
    const id = retry.salon.campaignId;
    const [g, h, i, j] = retry.invited as [string, string, string, string];
    setClock(runtime, "2027-03-09T02:10:00.000Z");
    // g: cut short before the seat; h: after the seat, before the status.
    const yesG = reply(id, g, "retry-yes-g", "Y", "2027-03-09T02:10:00Z");
    const yesH = reply(id, h, "retry-yes-h", "Y", "2027-03-09T02:10:00Z");
    await expect(ingestEvent(yesG, cutShort(beforeSeat))).rejects.toThrow("cut short");
    await expect(ingestEvent(yesH, cutShort(beforeStatus))).rejects.toThrow("cut short");
    expect(await salonStatus(runtime.repo, "wine-retry")).toMatchObject({
      seatsTaken: 1,
      confirmed: 0,
      pending: 2,
    });
    // The reply redelivered completes g's RSVP; h's copies (the same event and other yeses) race.
    await ingest([yesG]);
    const outcomes = await Promise.all([
      ...Array.from({ length: 5 }, () => ingestEvent(yesH, deps())),
      ...Array.from({ length: 3 }, (_, n) =>
        ingestEvent(reply(id, h, `retry-yes-h-${n}`, "是", "2027-03-09T02:11:00Z"), deps()),
      ),
    ]);
    expect(outcomes.every((o) => o.status !== "rejected")).toBe(true);
    expect(await salonStatus(runtime.repo, "wine-retry")).toMatchObject({
      seatsTaken: 2,
      confirmed: 2,
      pending: 0,
    });
    // The seats are taken (none twice): i joins the line; j is cut short after its place in line.
    await ingest([reply(id, i, "retry-yes-i", "Y", "2027-03-09T02:12:00Z")]);
    const yesJ = reply(id, j, "retry-yes-j", "Y", "2027-03-09T02:13:00Z");
    await expect(ingestEvent(yesJ, cutShort(beforeStatus))).rejects.toThrow("cut short");
    expect(await salonStatus(runtime.repo, "wine-retry")).toMatchObject({ waitlisted: 1, pending: 1 });
    await ingest([yesJ]);
    expect(await salonStatus(runtime.repo, "wine-retry")).toMatchObject({
      seatsTaken: 2,
      confirmed: 2,
      waitlisted: 2,
      pending: 0,
    });
    setClock(runtime, "2027-03-09T02:15:00.000Z");
    await Promise.all([tick(runtime), tick(runtime)]);
    await tick(runtime);
    // These guests may have answered the first salon too: its SMS went days before.
    const since = (phone: string, fragment: string) =>
      smsTo(phone, fragment).filter((m) => m.receivedAt >= "2027-03-09T02:15:00.000Z");
    for (const c of [g, h]) {
      expect(since(await phoneOf(c), "成功报名")).toHaveLength(1);
      expect(await rowOf(`${id}-rsvp`, c)).toMatchObject({ decision: "sent", variant: "SEAT", attempts: 1 });
    }
    for (const c of [i, j]) {
      expect(since(await phoneOf(c), "候补名单")).toHaveLength(1);
      expect(since(await phoneOf(c), "成功报名")).toHaveLength(0);
    }
    // h's racing yeses answered "we have your reply" at most once (only a copy finding the RSVP complete).
    expect(since(await phoneOf(h), "无需再次回复").length).toBeLessThanOrEqual(1);
    // g says yes twice more (and once redelivered): one "we have your reply", nothing else.
    setClock(runtime, "2027-03-09T02:16:00.000Z");
    const againG = reply(id, g, "retry-again-g", "是", "2027-03-09T02:16:00Z");
    await ingest([againG, againG, reply(id, g, "retry-again-g-2", "Y", "2027-03-09T02:16:10Z")]);
    await tick(runtime);
    expect(since(await phoneOf(g), "无需再次回复")).toHaveLength(1);
    expect(since(await phoneOf(g), "成功报名")).toHaveLength(1);
    expect(await rowOf(`${id}-rsvp-again`, g)).toMatchObject({ variant: "AGAIN", transactional: true });
    // g cancels: the seat goes to i (first in line), then j to h's; the line is empty after.
    // Copies of g's cancellation race (redelivered before the first is marked applied): one seat freed.
    const cancelG = {
      eventId: "retry-cancel-g",
      type: "rsvp_cancelled",
      customerId: g,
      campaignId: id,
      at: "2027-03-09T02:20:00Z",
    };
    await Promise.all(Array.from({ length: 4 }, () => ingestEvent(cancelG, deps())));
    expect(await salonStatus(runtime.repo, "wine-retry")).toMatchObject({
      seatsTaken: 2,
      confirmed: 2,
      waitlisted: 1,
      cancelled: 1,
    });
    await ingest([
      {
        eventId: "retry-cancel-h",
        type: "rsvp_cancelled",
        customerId: h,
        campaignId: id,
        at: "2027-03-09T02:21:00Z",
      },
    ]);
    expect(await salonStatus(runtime.repo, "wine-retry")).toMatchObject({
      seatsTaken: 2,
      confirmed: 2,
      waitlisted: 0,
      cancelled: 2,
    });
    // i and j, told "waitlisted" by SMS, are each told once that the seat is theirs.
    setClock(runtime, "2027-03-09T02:25:00.000Z");
    await tick(runtime);
    await tick(runtime);
    for (const c of [i, j]) {
      expect(since(await phoneOf(c), "已为您保留座位")).toHaveLength(1);
      expect(await rowOf(`${id}-rsvp-seat`, c)).toMatchObject({ decision: "sent", variant: "SEAT" });
    }
    expect(since(await phoneOf(g), "已为您保留座位")).toHaveLength(0);
  });
});
