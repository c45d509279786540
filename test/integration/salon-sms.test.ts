import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { ingestRecords } from "#functions/events/core.ts";
import { salonStatus } from "#functions/events/salon.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

const AT = "2027-03-05T02:00:00.000Z"; // after both salon waves, before the event
let runtime: Runtime;

describe("salon RSVP by SMS reply", () => {
  beforeAll(async () => {
    runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
    await startDispatch(runtime);
  }, 120_000);
  afterAll(async () => runtime?.stop());

  it("takes a seat for a reply of Y or 是, waitlists beyond capacity, once per guest; other replies take none", async () => {
    const base = readCampaignFile("examples/salon-invite.json", runtime.config);
    const salon = parseCampaign({ ...base, event: { ...base.event!, capacity: 2 } }, runtime.config);
    await launchCampaign(runtime, salon, new Date(AT));
    const invited = (await ledgerRows(runtime, salon.campaignId)).filter(
      (r) => r.decision === "sent" && r.channel === "sms",
    );
    expect(invited.length).toBeGreaterThanOrEqual(4);
    const reply = (i: number, text: string, n = 0) => ({
      eventId: `reply-${i}-${n}`,
      type: "replied",
      customerId: invited[i]!.customerId,
      campaignId: salon.campaignId,
      channel: "sms",
      text,
      at: `2027-03-05T0${3 + n}:0${i}:00Z`,
    });
    const ingest = (events: Record<string, unknown>[]) =>
      ingestRecords(
        events.map((value, line) => ({ line: line + 1, value })),
        { repo: runtime.repo, shards: runtime.config.shards, config: runtime.config, secret: runtime.secret },
      );
    await ingest([reply(0, "Y")]);
    await ingest([reply(1, " 是 ")]);
    await ingest([reply(2, "y"), reply(3, "好的，谢谢")]);
    await ingest([reply(0, "是", 1)]);
    const status = await salonStatus(runtime.repo, salon.event!.eventId);
    expect(status).toMatchObject({ seatsTaken: 2, confirmed: 2, waitlisted: 1 });
  });
});
