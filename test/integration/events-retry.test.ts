import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { ingestEvent } from "#functions/events/core.ts";
import { readFunnel } from "#functions/funnel/core.ts";
import { FUNNEL_PARTS, parseCounterSk } from "#functions/funnel/counters.ts";
import type { Runtime } from "#local/runtime.ts";
import { Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { rebuild } from "../../cli/funnel.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

/**
 * Issue 21, "lost counters": the event id was claimed before the counter write, so a throttled
 * counter write was lost for good (the retry saw a duplicate). Now an event is a duplicate only once
 * applied, and the row's move leaves a marker of the counts it owes until they are added.
 */
const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
let runtime: Runtime;

/** A store that throttles the first `n` funnel-counter writes, as DynamoDB does on a hot partition. */
function throttlingCounters(n: number) {
  let left = n;
  const real = runtime.repo.ddb;
  const ddb = {
    send: (command: unknown) => {
      if (
        command instanceof UpdateCommand &&
        String(command.input.Key?.PK).startsWith("FUNNEL#") &&
        left-- > 0
      )
        return Promise.reject(
          Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
            name: "ThrottlingException",
          }),
        );
      return real.send(command as Parameters<typeof real.send>[0]);
    },
  } as unknown as DynamoDBDocumentClient;
  return new Repo(ddb, runtime.repo.table);
}

describe("an event whose counter write is throttled", () => {
  beforeAll(async () => {
    runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  it("is counted once when its delivery is retried, and a replay after that changes nothing", {
    timeout: 300_000,
  }, async () => {
    const campaign = parseCampaign(
      { ...readCampaignFile("examples/dormant-reactivation.json", runtime.config), campaignId: "ev-retry" },
      runtime.config,
    );
    const launched = await launchCampaign(runtime, campaign, new Date(AT));
    expect(launched.sent).toBeGreaterThan(20);
    const sent = (await ledgerRows(runtime, "ev-retry")).filter((r) => r.decision === "sent").slice(0, 20);
    const deps = { repo: runtime.repo, shards: runtime.config.shards };
    const events = sent.map((r, i) => ({
      eventId: `click-${i}`,
      type: "clicked",
      customerId: r.customerId,
      campaignId: "ev-retry",
      at: "2027-03-01T03:00:00.000Z",
    }));
    // First delivery: every counter write is throttled once (a click passes delivered and engaged).
    const flaky = { ...deps, repo: throttlingCounters(events.length * 4) };
    for (const e of events) await expect(ingestEvent(e, flaky)).rejects.toThrow(/throughput/);
    // SQS delivers each again: counted now.
    for (const e of events) expect((await ingestEvent(e, deps)).status).toBe("accepted");
    expect((await rebuild(runtime, "ev-retry")).differences).toEqual([]);
    // And once applied, a replay is a duplicate and counts nothing.
    for (const e of events) expect((await ingestEvent(e, deps)).status).toBe("duplicate");
    const again = await rebuild(runtime, "ev-retry");
    expect(again.differences).toEqual([]);
    expect(again.matches).toBe(true);
  });

  it("spreads a campaign's counter writes over its parts, and every reader sums them", async () => {
    const perPart: number[] = [];
    let sent = 0;
    for (let part = 0; part < FUNNEL_PARTS; part++) {
      let writes = 0;
      for await (const item of runtime.repo.queryAll(key.funnelPartition("ev-retry", part))) {
        writes += Number(item.n ?? 0);
        if (parseCounterSk(String(item.SK)).stage === "sent") sent += Number(item.n ?? 0);
      }
      perPart.push(writes);
    }
    // No hot partition: the ~1,000 receipts/s of a big campaign land on 8 keys, not one.
    expect(perPart.filter((n) => n > 0).length).toBe(FUNNEL_PARTS);
    const total = perPart.reduce((a, b) => a + b, 0);
    expect(Math.max(...perPart)).toBeLessThan(total / 2);
    const rows = await ledgerRows(runtime, "ev-retry");
    expect(sent).toBe(rows.filter((r) => r.decision === "sent").length);
    const funnel = await readFunnel(runtime.repo, "ev-retry");
    expect(funnel.total.sent).toBe(sent);
  });
});
