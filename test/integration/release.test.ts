import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forceCampaignStatus } from "#functions/campaign/record.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { SWEEP_MARGIN_MS, sweepInFlight } from "#functions/launch/core.ts";
import { INTENT_STALE_MS, RELEASE_MARGIN_MS, releaseDue } from "#functions/release/core.ts";
import { transitionCampaign } from "#functions/usecases/campaigns.ts";
import { type DispatchServices, startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import type { DispatchMessage } from "#platform/queue.ts";
import { Repo } from "#platform/repo.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { drainCampaigns, launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

/**
 * Issue 21, "deferred sends are stranded": the release job used to move every due row to `queued`
 * and enqueue only after all shards, so a run that timed out (or died) in between left rows queued
 * with no SQS message, forever. Now it works in pages, each named in an intent before its rows move.
 */
const NIGHT = "2027-03-02T15:30:00.000Z"; // 23:30 Asia/Shanghai: everything is deferred
const MORNING = "2027-03-03T00:30:00.000Z"; // 08:30

let runtime: Runtime;
let dispatch: DispatchServices;

const deps = (
  enqueue = runtime.app.base().enqueue,
  extra: Partial<Parameters<typeof releaseDue>[0]> = {},
) => ({
  repo: runtime.repo,
  shards: runtime.config.shards,
  now: runtime.app.now,
  enqueue,
  pageSize: 5,
  ...extra,
});

async function deferredCampaign(campaignId: string, file = "examples/referral-drive.json", night = NIGHT) {
  setClock(runtime, night);
  const campaign = parseCampaign({ ...readCampaignFile(file, runtime.config), campaignId }, runtime.config);
  const launched = await launchCampaign(runtime, campaign, new Date(night));
  expect(launched.sent).toBe(0);
  expect(launched.deferred).toBeGreaterThan(10);
  const rows = await ledgerRows(runtime, campaignId);
  return new Set(rows.filter((r) => r.decision === "deferred").map((r) => r.customerId));
}

/** Every row of the campaign is settled and the gateway got each send key once. */
async function expectAllSentOnce(campaignId: string, deferred: Set<string>) {
  await drainCampaigns(runtime, [campaignId]);
  const rows = (await ledgerRows(runtime, campaignId)).filter((r) => deferred.has(r.customerId));
  expect(rows).toHaveLength(deferred.size);
  // Sent, or excluded at the send (a cap another campaign's morning sends reached): nothing waits.
  const left = rows.filter((r) => r.decision !== "sent" && r.decision !== "excluded");
  expect(left.map((r) => `${r.customerId}:${r.decision}`)).toEqual([]);
  const tags = [
    ...dispatch.sms.messages.map((m) => m.tag),
    ...dispatch.smtp.received.map((m) => /X-Tiercast-Key: (\S+)/i.exec(m.raw)?.[1] ?? "?"),
  ].filter((t) => t.startsWith(`${campaignId}#`));
  expect(new Set(tags).size).toBe(tags.length);
  expect(tags.length).toBe(rows.filter((r) => r.decision === "sent").length);
  expect(tags.length).toBeGreaterThan(0);
}

describe("releasing deferred sends in bounded pages", () => {
  beforeAll(async () => {
    runtime = await localBank(3_000, new Date("2027-02-28T00:00:00Z"));
    dispatch = await startDispatch(runtime);
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  it("leaves no row queued without a message when a run dies between a page's release and its enqueue", {
    timeout: 300_000,
  }, async () => {
    const deferred = await deferredCampaign("release-crash");
    setClock(runtime, MORNING);
    // The run's first enqueue fails, as when the function is killed or times out right there.
    let calls = 0;
    const real = runtime.app.base().enqueue;
    const dying = async (channel: Parameters<typeof real>[0], messages: DispatchMessage[]) => {
      if (++calls === 1) throw new Error("Task timed out after 300.00 seconds");
      return real(channel, messages);
    };
    await expect(releaseDue(deps(dying))).rejects.toThrow(/timed out/);
    const cut = await ledgerRows(runtime, "release-crash");
    const queuedAtCut = cut.filter((r) => r.decision === "queued").length;
    expect(queuedAtCut).toBeGreaterThan(0);

    // The next scheduled run, once the dead run's intent is stale: it enqueues those rows first.
    setClock(runtime, new Date(Date.parse(MORNING) + INTENT_STALE_MS + 60_000).toISOString());
    const next = await releaseDue(deps());
    expect(next.recovered).toBeGreaterThan(0);
    expect(next.more).toBe(false);
    await expectAllSentOnce("release-crash", deferred);
  });

  it("stops between pages when its time runs low, and the next run continues", {
    timeout: 300_000,
  }, async () => {
    const deferred = await deferredCampaign("release-budget");
    setClock(runtime, MORNING);
    // Time for two pages, then below the margin.
    let pages = 0;
    const enqueue = runtime.app.base().enqueue;
    const first = await releaseDue(
      deps(
        async (channel, messages) => {
          pages++;
          return enqueue(channel, messages);
        },
        { remainingMs: () => (pages < 2 ? 10 * RELEASE_MARGIN_MS : RELEASE_MARGIN_MS - 1) },
      ),
    );
    expect(first.more).toBe(true);
    expect(first.released).toBeGreaterThan(0);
    expect(first.released).toBeLessThan(deferred.size);
    const rest = await releaseDue(deps());
    expect(rest.more).toBe(false);
    expect(first.released + rest.released).toBe(deferred.size);
    await expectAllSentOnce("release-budget", deferred);
  });

  it("sweeps a lost backlog shard by shard, continuing where a step out of time stopped", {
    timeout: 300_000,
  }, async () => {
    await deferredCampaign("sweep-budget", "examples/dormant-reactivation.json");
    setClock(runtime, MORNING);
    // Released, but every message is lost: the rows sit queued in flight with nothing in the queue.
    const lost = await releaseDue(deps(async () => {}));
    const released = new Set((lost.campaigns["sweep-budget"] ?? []).map((r) => r.customerId));
    expect(released.size).toBeGreaterThan(30);
    const launchDeps = { ...runtime.app.launchDeps(), remainingMs: () => SWEEP_MARGIN_MS - 1 };
    let from: number | undefined = 0;
    let steps = 0;
    let swept = 0;
    while (from !== undefined) {
      const out: { swept: number; nextShard?: number } = await sweepInFlight(
        "sweep-budget",
        launchDeps,
        from,
      );
      swept += out.swept;
      from = out.nextShard;
      steps++;
    }
    // One shard per step when time is short, and every lost row found once.
    expect(steps).toBe(runtime.config.shards);
    expect(swept).toBe(released.size);
    await expectAllSentOnce("sweep-budget", released);
  });

  it("parks a paused campaign's sends at no cost while paused, and sends them once resumed", {
    timeout: 300_000,
  }, async () => {
    // A month on, so the other tests' sends hold no caps.
    const night = "2027-04-05T15:30:00.000Z";
    const morning = "2027-04-06T00:30:00.000Z";
    const deferred = await deferredCampaign("pause-free", "examples/referral-drive.json", night);
    await forceCampaignStatus(runtime.repo, "pause-free", "paused");
    setClock(runtime, morning);
    // Due in the morning, but paused: the workers park them (one write each, once).
    const woken = await releaseDue(deps());
    expect(woken.released).toBe(deferred.size);
    await drainCampaigns(runtime, ["pause-free"]);
    const parked = (await ledgerRows(runtime, "pause-free")).filter((r) => deferred.has(r.customerId));
    expect(parked.every((r) => r.decision === "deferred" && r.GSI3PK?.startsWith("PAUSED#"))).toBe(true);
    const stamp = new Map(parked.map((r) => [r.customerId, r.at]));
    // A day of release runs while paused: nothing is read back into the queue, nothing is written.
    for (let i = 1; i <= 12; i++) {
      setClock(runtime, new Date(Date.parse(morning) + i * 2 * 3_600_000).toISOString());
      expect((await releaseDue(deps())).released).toBe(0);
    }
    const still = (await ledgerRows(runtime, "pause-free")).filter((r) => deferred.has(r.customerId));
    expect(still.filter((r) => r.at !== stamp.get(r.customerId))).toEqual([]);
    // Resumed (through the use case, as the API and console do): the next release wakes them.
    const resumeAt = "2027-04-08T02:00:00.000Z"; // 10:00 two days later
    setClock(runtime, resumeAt);
    await transitionCampaign(
      { repo: runtime.repo, config: runtime.config, secret: runtime.secret, now: runtime.app.now },
      { userId: "ops", role: "admin" },
      "pause-free",
      "resume",
    );
    const resumed = await releaseDue(deps());
    expect(resumed.released).toBe(deferred.size);
    expect((await releaseDue(deps())).released).toBe(0);
    await expectAllSentOnce("pause-free", deferred);
  });

  it("acts on the table's rows, not on an index's stale projection of them", {
    timeout: 300_000,
  }, async () => {
    const night = "2027-05-05T15:30:00.000Z";
    const deferred = await deferredCampaign("stale-index", "examples/referral-drive.json", night);
    setClock(runtime, "2027-05-06T00:30:00.000Z");
    // Released, messages lost: queued in flight. The index still shows them as claimed and attempted
    // (an eventually consistent GSI just after a write on AWS; the embedded store after a kill).
    const lost = await releaseDue(deps(async () => {}));
    expect(lost.released).toBe(deferred.size);
    const real = runtime.repo.ddb;
    const stale = {
      send: async (command: unknown) => {
        const out = (await real.send(command as Parameters<typeof real.send>[0])) as { Items?: unknown[] };
        if (command instanceof QueryCommand && command.input.IndexName === "GSI3" && out.Items)
          out.Items = out.Items.map((i) => ({
            ...(i as object),
            decision: "claimed",
            attemptedAt: "2027-05-05T00:00:00.000Z",
            leaseUntil: "2027-05-05T00:00:20.000Z",
            attempts: 1,
          }));
        return out;
      },
    } as unknown as DynamoDBDocumentClient;
    let enqueued = 0;
    const base = runtime.app.launchDeps();
    const launchDeps = {
      ...base,
      repo: new Repo(stale, runtime.repo.table),
      enqueue: async (channel: Parameters<typeof base.enqueue>[0], messages: DispatchMessage[]) => {
        enqueued += messages.reduce((n, m) => n + m.recipients.length, 0);
        return base.enqueue(channel, messages);
      },
    };
    const swept = await sweepInFlight("stale-index", launchDeps);
    expect(swept.swept).toBe(deferred.size);
    // Queued in the table: sent again to the workers (judged on the projection, they were left alone).
    expect(enqueued).toBe(deferred.size);
    await expectAllSentOnce("stale-index", deferred);
  });
});
