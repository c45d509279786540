import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFunnel } from "#functions/funnel/core.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { funnelText, ingestFile } from "../../cli/funnel.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { tempDir } from "../helpers.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

/**
 * The funnel's days are the bank's calendar days, in the zone of its config (quietHours.timeZone),
 * not a zone written into the code: for a bank in New York, 16:00Z is 11:00 on the 1st (in Shanghai
 * it would already be the 2nd), and 02:30Z on the 2nd is still 21:30 on the 1st.
 */
const AT = "2027-03-01T16:00:00.000Z"; // 11:00 America/New_York, 00:00 Asia/Shanghai on the 2nd
let runtime: Runtime;

describe("funnel day buckets in the bank's time zone", () => {
  beforeAll(async () => {
    runtime = await localBank(600, new Date("2027-02-28T00:00:00Z"), {
      quietHours: { start: "08:00", end: "22:00", timeZone: "America/New_York" },
    });
    setClock(runtime, AT);
    await startDispatch(runtime);
    await launchCampaign(
      runtime,
      readCampaignFile("examples/dormant-reactivation.json", runtime.config),
      new Date(AT),
    );
  }, 120_000);
  afterAll(async () => runtime?.stop());

  it("counts the launch and a late-evening delivery on New York's day, not Shanghai's", async () => {
    const launched = await readFunnel(runtime.repo, "dormant-2027q1");
    expect(launched.total.sent).toBeGreaterThan(0);
    expect(Object.keys(launched.byDay)).toEqual(["2027-03-01"]);

    const sent = (await ledgerRows(runtime, "dormant-2027q1")).filter((r) => r.decision === "sent");
    const dir = tempDir();
    const file = join(dir, "events.jsonl");
    writeFileSync(
      file,
      `${sent
        .slice(0, 3)
        .map((r, i) =>
          JSON.stringify({
            eventId: `z${i}`,
            type: "delivered",
            customerId: r.customerId,
            campaignId: "dormant-2027q1",
            at: "2027-03-02T02:30:00Z", // 21:30 on the 1st in New York, 10:30 on the 2nd in Shanghai
          }),
        )
        .join("\n")}\n`,
    );
    expect((await ingestFile(runtime, file)).accepted).toBe(3);
    const after = await readFunnel(runtime.repo, "dormant-2027q1");
    expect(Object.keys(after.byDay)).toEqual(["2027-03-01"]);
    expect(after.byDay["2027-03-01"]!.delivered - launched.byDay["2027-03-01"]!.delivered).toBe(3);
  });

  it("counts unique opens, clicks and replies as they happened, beside the cumulative stages", async () => {
    const sent = (await ledgerRows(runtime, "dormant-2027q1")).filter((r) => r.decision === "sent");
    const [a, b, c] = sent.slice(3, 6).map((r) => r.customerId);
    const at = "2027-03-01T18:00:00Z"; // 13:00 in New York on the 1st
    const ev = (eventId: string, type: string, customerId: string) =>
      JSON.stringify({ eventId, type, customerId, campaignId: "dormant-2027q1", at });
    const file = join(tempDir(), "unique.jsonl");
    writeFileSync(
      file,
      `${[
        ev("u1", "opened", a!),
        ev("u2", "opened", a!), // a second open of the same recipient: one unique open
        ev("u3", "clicked", a!),
        ev("u4", "transaction", b!), // converted without ever clicking
        ev("u5", "replied", c!),
      ].join("\n")}\n`,
    );
    const before = await readFunnel(runtime.repo, "dormant-2027q1");
    expect(before.unique.total).toEqual({ opened: 0, clicked: 0, replied: 0 });
    expect((await ingestFile(runtime, file)).accepted).toBe(5);
    const after = await readFunnel(runtime.repo, "dormant-2027q1");
    expect(after.unique.total).toEqual({ opened: 1, clicked: 1, replied: 1 });
    expect(after.unique.byDay).toEqual({ "2027-03-01": { opened: 1, clicked: 1, replied: 1 } });
    // The cumulative stage counts the conversion as engaged too; the unique clicks do not.
    expect(after.total.engaged - before.total.engaged).toBe(3);
    expect(after.total.converted - before.total.converted).toBe(1);
    // A replay changes neither.
    expect((await ingestFile(runtime, file)).duplicates).toBe(5);
    expect((await readFunnel(runtime.repo, "dormant-2027q1")).unique).toEqual(after.unique);
    expect(funnelText(after)).toMatch(/u\.opened +u\.clicked +u\.replied/);
  });
});
