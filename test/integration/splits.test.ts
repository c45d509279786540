import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { previewCampaign } from "#functions/campaign/preview.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { readFunnel } from "#functions/funnel/core.ts";
import { newcombeDiff } from "#functions/funnel/stats.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { funnelText, ingestFile } from "../../cli/funnel.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { cli, tempDir } from "../helpers.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

// Issue 19: a 2-variant split of one tier set, launched on the embedded runtime.
const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
const CAMPAIGN = {
  campaignId: "split-2027q1",
  playbook: "dormant-reactivation",
  segment: { scheme: "retail", tiers: ["potential", "quality"], dormantDays: 30 },
  variants: [
    {
      id: "A",
      tiers: ["potential", "quality"],
      channel: "sms",
      template: "{{name|客户}}您好，A 礼遇",
      weight: 60,
    },
    {
      id: "B",
      tiers: ["potential", "quality"],
      channel: "sms",
      template: "{{name|客户}}您好，B 礼遇",
      weight: 40,
    },
  ],
  holdoutPercent: 10,
};
const dir = tempDir();
let runtime: Runtime;
let rows: LedgerRow[];

const within3Sigma = (observed: number, n: number, p: number) =>
  expect(Math.abs(observed - n * p)).toBeLessThanOrEqual(3 * Math.sqrt(n * p * (1 - p)));

describe("A/B split launched on the embedded runtime", () => {
  beforeAll(async () => {
    runtime = await localBank(5_000, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, AT);
    await startDispatch(runtime);
  }, 120_000);
  afterAll(async () => runtime?.stop());

  it("reaches both variants' customers in proportion to the weights, as the preview said", async () => {
    const campaign = parseCampaign(CAMPAIGN, runtime.config);
    const preview = await previewCampaign(
      runtime.repo,
      campaign,
      runtime.config,
      new Date(AT),
      runtime.secret,
    );
    const result = await launchCampaign(runtime, campaign, new Date(AT));
    expect(result.status).toBe("SUCCEEDED");
    rows = await ledgerRows(runtime, campaign.campaignId);
    expect(rows).toHaveLength(preview.audience);

    const sent = rows.filter((r) => r.decision === "sent");
    expect(sent.length).toBe(result.sent);
    expect(sent.length).toBeGreaterThan(300);
    // Every recipient row carries its variant; both variants reached customers, 60:40 within ±3σ.
    expect(sent.every((r) => r.variant === "A" || r.variant === "B")).toBe(true);
    const sentB = sent.filter((r) => r.variant === "B").length;
    within3Sigma(sentB, sent.length, 0.4);
    for (const tier of ["potential", "quality"]) {
      const inTier = sent.filter((r) => r.tier === tier);
      within3Sigma(inTier.filter((r) => r.variant === "B").length, inTier.length, 0.4);
    }
    expect(preview.byVariant.A!.eligible).toBe(sent.length - sentB);
    expect(preview.byVariant.B!.eligible).toBe(sentB);
    // The holdout is the tier's, drawn apart from the split: it holds both variants' customers.
    const holdout = rows.filter((r) => r.decision === "holdout");
    expect(holdout.length).toBe(result.holdout);
    within3Sigma(holdout.filter((r) => r.variant === "B").length, holdout.length, 0.4);
  });

  it("sends nothing new and moves nobody to another variant on a relaunch", async () => {
    const again = await launchCampaign(runtime, parseCampaign(CAMPAIGN, runtime.config), new Date(AT));
    expect(again.status).toBe("SUCCEEDED");
    const after = await ledgerRows(runtime, CAMPAIGN.campaignId);
    const variantOf = new Map(rows.map((r) => [r.customerId, r.variant]));
    expect(after.every((r) => variantOf.get(r.customerId) === r.variant)).toBe(true);
    expect(after.filter((r) => r.decision === "sent")).toHaveLength(
      rows.filter((r) => r.decision === "sent").length,
    );
  });

  it("counts the funnel by variant as the ledger has it, with each variant's uplift against its tier's holdout", async () => {
    const sentOf = (variant: string, tier: string) =>
      rows.filter((r) => r.decision === "sent" && r.variant === variant && r.tier === tier);
    const heldIn = (tier: string) => rows.filter((r) => r.decision === "holdout" && r.tier === tier);
    // Known conversions: 6 of A's potential recipients, 2 of B's, 3 of the potential holdout.
    const converting = [
      ...sentOf("A", "potential").slice(0, 6),
      ...sentOf("B", "potential").slice(0, 2),
      ...heldIn("potential").slice(0, 3),
    ];
    const file = join(dir, "conversions.jsonl");
    writeFileSync(
      file,
      converting
        .map((r, i) =>
          JSON.stringify({
            eventId: `tx${i}`,
            type: "transaction",
            customerId: r.customerId,
            campaignId: CAMPAIGN.campaignId,
            at: "2027-03-05T02:00:00Z",
            amount: 500,
          }),
        )
        .join("\n"),
    );
    expect((await ingestFile(runtime, file)).accepted).toBe(converting.length);

    const funnel = await readFunnel(runtime.repo, CAMPAIGN.campaignId);
    for (const v of ["A", "B"]) {
      expect(funnel.byVariant[v]!.sent).toBe(
        rows.filter((r) => r.decision === "sent" && r.variant === v).length,
      );
      for (const tier of ["potential", "quality"])
        expect(funnel.variantUplift[v]![tier]!.treated).toBe(sentOf(v, tier).length);
    }
    expect(funnel.byVariant.A!.converted).toBe(6);
    expect(funnel.byVariant.B!.converted).toBe(2);
    const holdout = heldIn("potential").length;
    expect(funnel.byTier.potential).toMatchObject({ holdout, holdoutConverted: 3, converted: 8 });
    for (const [v, converted] of [
      ["A", 6],
      ["B", 2],
    ] as const) {
      const treated = sentOf(v, "potential").length;
      const u = funnel.variantUplift[v]!.potential!;
      expect(u).toMatchObject({ treated, converted, holdout, holdoutConverted: 3 });
      expect(u.uplift).toBeCloseTo(converted / treated - 3 / holdout, 6);
      const [lo, hi] = newcombeDiff(converted, treated, 3, holdout);
      expect(u.upliftCi95[0]).toBeCloseTo(lo, 6);
      expect(u.upliftCi95[1]).toBeCloseTo(hi, 6);
    }
    expect(funnelText(funnel)).toContain("Split variants against their tier's holdout");
  });

  it("refuses overlapping variants without weights at preview: exit 2, the variants and tiers named", async () => {
    const file = join(dir, "unweighted.json");
    const { weight: _a, ...a } = CAMPAIGN.variants[0]!;
    const { weight: _b, ...b } = CAMPAIGN.variants[1]!;
    writeFileSync(file, JSON.stringify({ ...CAMPAIGN, variants: [a, b] }));
    const result = await cli(["preview", file, "--json"], { dataDir: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/"A" and "B" share tiers "potential" and "quality" with no weight/);
    expect(result.json()).toMatchObject({
      error: "invalid_campaign",
      problems: [expect.stringMatching(/^variants: "A" and "B" share tiers "potential" and "quality"/)],
    });
  });
});
