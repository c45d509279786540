import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { normalizeEmail, normalizePhone } from "#functions/customers/record.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { salonStatus } from "#functions/events/salon.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { syntheticCustomers } from "#local/synthetic.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { ingestFile } from "../../cli/funnel.ts";
import { launchCampaign, tick } from "../../cli/launch.ts";
import { keyNotContacted, uncontactable } from "../../functions/customers/reports.ts";
import { tempDir } from "../helpers.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

const BANK_AT = new Date("2027-02-28T00:00:00Z");
const AT = "2027-03-05T02:00:00.000Z"; // after both salon waves, before the event
let runtime: Runtime;
const dir = tempDir();

describe("playbooks end to end", () => {
  beforeAll(async () => {
    runtime = await localBank(2_000, BANK_AT);
    setClock(runtime, AT);
    await startDispatch(runtime);
  }, 120_000);
  afterAll(async () => runtime?.stop());

  it("fills salon seats from RSVPs, waitlists the rest, and gives a released seat to the longest-waiting", async () => {
    const base = readCampaignFile("examples/salon-invite.json", runtime.config);
    const salon = parseCampaign({ ...base, event: { ...base.event!, capacity: 3 } }, runtime.config);
    await launchCampaign(runtime, salon, new Date(AT));
    const invited = (await ledgerRows(runtime, salon.campaignId))
      .filter((r) => r.decision === "sent")
      .slice(0, 5);
    expect(invited).toHaveLength(5);
    const at = (m: number) => `2027-03-06T0${m}:00:00Z`;
    const file = join(dir, "rsvp.jsonl");
    writeFileSync(
      file,
      [
        ...invited.map((r, i) => ({
          eventId: `rsvp-${i}`,
          type: "rsvp",
          customerId: r.customerId,
          campaignId: salon.campaignId,
          at: at(i),
        })),
        {
          eventId: "rsvp-0-again",
          type: "rsvp",
          customerId: invited[0]!.customerId,
          campaignId: salon.campaignId,
          at: at(6),
        },
      ]
        .map((e) => JSON.stringify(e))
        .join("\n"),
    );
    await ingestFile(runtime, file);
    expect(await salonStatus(runtime.repo, "wine-0315")).toMatchObject({
      capacity: 3,
      seatsTaken: 3,
      confirmed: 3,
      waitlisted: 2,
    });

    // Seats go in order of arrival (events are ingested concurrently, and a repeat RSVP may arrive
    // first and count): read who got one, and when each RSVP that counted was made.
    const rsvpOf = async (id: string) =>
      (await runtime.repo.get({ PK: "SALON#wine-0315", SK: `RSVP#${id}` })) as { status: string; at: string };
    const seated: string[] = [];
    const waiting: { id: string; at: string }[] = [];
    for (const r of invited) {
      const record = await rsvpOf(r.customerId);
      if (record.status === "confirmed") seated.push(r.customerId);
      else waiting.push({ id: r.customerId, at: record.at });
    }
    expect(seated).toHaveLength(3);
    const firstWaiting = waiting.sort((a, b) => a.at.localeCompare(b.at))[0]!.id;

    const cancel = join(dir, "cancel.jsonl");
    writeFileSync(
      cancel,
      JSON.stringify({
        eventId: "cancel-1",
        type: "rsvp_cancelled",
        customerId: seated[0],
        campaignId: salon.campaignId,
        at: at(7),
      }),
    );
    await ingestFile(runtime, cancel);
    expect(await salonStatus(runtime.repo, "wine-0315")).toMatchObject({
      seatsTaken: 3,
      confirmed: 3,
      waitlisted: 1,
      cancelled: 1,
    });
    expect(await runtime.repo.get({ PK: "SALON#wine-0315", SK: `RSVP#${firstWaiting}` })).toMatchObject({
      status: "confirmed",
      promotedFromWaitlist: true,
    });

    // Every guest confirmed at some point (the 3 seated, and the one promoted) gets an SMS reminder 24 h
    // before, released by tick; guests without a phone (invited by email) get none.
    const reminders = await ledgerRows(runtime, `${salon.campaignId}-reminder`);
    const withPhone = [];
    for (const id of [...seated, firstWaiting])
      if ((await getCustomer(runtime.repo, id))?.phone) withPhone.push(id);
    expect(withPhone.length).toBeGreaterThan(1);
    expect(reminders.map((r) => r.customerId).sort()).toEqual(withPhone.sort());
    expect(reminders.every((r) => r.decision === "deferred" && r.dueAt === "2027-03-14T10:00:00.000Z")).toBe(
      true,
    );
    setClock(runtime, "2027-03-14T10:05:00.000Z");
    const ticked = await tick(runtime);
    expect(ticked.released).toBe(withPhone.length);
    expect(ticked.sent + ticked.excluded).toBe(withPhone.length);
    setClock(runtime, AT);
  });

  it("lists every customer a channel cannot reach, with the lost-contact red list", async () => {
    const expected = [...syntheticCustomers({ customers: 2_000, seed: 7, at: BANK_AT })].filter(
      (c) => !normalizePhone(c.phone as string | undefined) || !normalizeEmail(c.email as string | undefined),
    );
    const listed = [];
    for await (const row of uncontactable(runtime, {})) listed.push(row);
    expect(listed).toHaveLength(expected.length);
    const lost = listed.filter((r) => r.lostContact);
    expect(lost.length).toBeGreaterThan(0);
    for (const r of lost) {
      expect(r.phone).not.toBe("ok");
      expect(r.email).not.toBe("ok");
    }
  });

  it("reports key customers not yet contacted this month, per RM", async () => {
    const before = await keyNotContacted(runtime, "2027-03");
    expect(before.contacted).toBe(0);
    const maintenance = readCampaignFile("examples/key-maintenance.json", runtime.config);
    const result = await launchCampaign(runtime, maintenance, new Date(AT));
    const after = await keyNotContacted(runtime, "2027-03");
    // A maintenance SMS is a contact; an RM task is one only once the RM closes it (tasks.test.ts).
    const sentKey = (await ledgerRows(runtime, maintenance.campaignId)).filter(
      (r) => r.decision === "sent" && r.tier === "key" && r.channel !== "rm-task",
    ).length;
    expect(after.customers).toBe(before.customers);
    expect(after.contacted).toBe(sentKey);
    expect(after.notContacted).toBe(after.customers - sentKey);
    expect(result.sent).toBeGreaterThan(0);
    expect(Object.values(after.byRm).reduce((a, b) => a + b, 0)).toBe(after.notContacted);
  });
});
