import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { previewCampaign } from "#functions/campaign/preview.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { CustomerInput, toCustomer } from "#functions/customers/record.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { readFunnel } from "#functions/funnel/core.ts";
import type { SourceRecord } from "#functions/import/parse.ts";
import { importCustomers } from "#functions/usecases/customers.ts";
import { startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { syntheticCustomers } from "#local/synthetic.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { localOperator } from "../../cli/context.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

// Issue 19: a tier-upgrade campaign converts its recipients when a later import shows them a tier up.
const MARCH = "2027-03-01T02:00:00.000Z"; // 10:00 Shanghai
const APRIL = "2027-03-29T02:00:00.000Z"; // 28 days later: inside the 30-day attribution window
const LATE = "2027-04-05T02:00:00.000Z"; // 35 days after the send: outside it
const N = 400;

const id = (i: number) => `G${String(i).padStart(4, "0")}`;
/** N potential customers within 10% of quality (45,000.00 … 49,999.99), and one just outside it. */
function bank(aumOf: (i: number) => number): Record<string, unknown>[] {
  return Array.from({ length: N }, (_, i) => ({
    customerId: id(i),
    name: "客户",
    phone: `138${String(10_000_000 + i)}`,
    consentSms: true,
    aum: aumOf(i),
    branchId: "BR001",
    openedAt: "2015-01-01",
    lastTransactionAt: "2027-02-20T00:00:00Z",
    tags: i % 2 ? ["payroll"] : [],
  }));
}
const MARCH_AUM = (i: number) => (i === 0 ? 44_999.99 : 45_000 + (i % 100) * 49.99);
/** In April every third customer has reached quality (50,000.00 exactly, the boundary); the rest stay. */
const moved = (i: number) => i % 3 === 0;
const APRIL_AUM = (i: number) => (moved(i) ? 50_000 : MARCH_AUM(i));

const CAMPAIGN = {
  campaignId: "upgrade-2027q1",
  playbook: "tier-upgrade",
  segment: { scheme: "retail", tiers: ["potential"], nearNextTier: { withinPercent: 10 } },
  variants: [
    { id: "A", tiers: ["potential"], channel: "sms", template: "{{name}}您好，距{{nextTier}}还差{{gap}}元" },
  ],
  holdoutPercent: 20,
  attributionDays: 30,
};

let runtime: Runtime;
async function importAt(at: string, records: Record<string, unknown>[]) {
  async function* source(): AsyncGenerator<SourceRecord> {
    let line = 0;
    for (const value of records) yield { line: ++line, value };
  }
  setClock(runtime, at);
  const deps = {
    repo: runtime.repo,
    config: runtime.config,
    secret: runtime.secret,
    now: () => new Date(at),
  };
  return importCustomers(deps, localOperator(), source());
}

describe("tier-upgrade: conversion on a later import", () => {
  beforeAll(async () => {
    runtime = await localBank(0, new Date(MARCH));
    await startDispatch(runtime);
  }, 120_000);
  afterAll(async () => runtime?.stop());

  it("targets the near-threshold customers, converts those a later import shows a tier up, treated and holdout alike", async () => {
    const first = await importAt("2027-02-28T02:00:00.000Z", bank(MARCH_AUM));
    expect(first).toEqual({ imported: N, rejected: [] });
    const campaign = parseCampaign(CAMPAIGN, runtime.config);
    setClock(runtime, MARCH);
    const preview = await previewCampaign(
      runtime.repo,
      campaign,
      runtime.config,
      new Date(MARCH),
      runtime.secret,
    );
    // G0000 at 44,999.99 is 0.01 short of 90% of 50,000: not in the audience.
    expect(preview.audience).toBe(N - 1);
    const launched = await launchCampaign(runtime, campaign, new Date(MARCH));
    expect(launched.status).toBe("SUCCEEDED");
    const rows = await ledgerRows(runtime, campaign.campaignId);
    expect(rows).toHaveLength(N - 1);
    expect(rows.some((r) => r.customerId === id(0))).toBe(false);
    const sent = rows.filter((r) => r.decision === "sent");
    const held = rows.filter((r) => r.decision === "holdout");
    expect(sent.length + held.length).toBe(N - 1);
    expect(held.length).toBeGreaterThan(40);
    expect(sent[0]!.message?.text).toMatch(/距quality还差[\d.]+元/);

    const april = await importAt(APRIL, bank(APRIL_AUM));
    const movedSent = sent.filter((r) => moved(Number(r.customerId.slice(1)))).length;
    const movedHeld = held.filter((r) => moved(Number(r.customerId.slice(1)))).length;
    expect(movedSent).toBeGreaterThan(80);
    expect(movedHeld).toBeGreaterThan(10);
    expect(april.converted).toBe(movedSent + movedHeld);

    const funnel = await readFunnel(runtime.repo, campaign.campaignId);
    expect(funnel.total.converted).toBe(movedSent);
    expect(funnel.byTier.potential!.holdoutConverted).toBe(movedHeld);
    expect(funnel.byTier.potential!.holdout).toBe(held.length);
    const after = await ledgerRows(runtime, campaign.campaignId);
    expect(after.filter((r) => r.stage === 6).length).toBe(movedSent + movedHeld);
    // The history keeps each import's month.
    expect((await getCustomer(runtime.repo, id(3)))?.aumHistory).toEqual({
      "2027-02": 45_149.97,
      "2027-03": 50_000,
    });
  });

  it("counts a conversion once: the same import again converts nobody and changes no counter", async () => {
    const before = await readFunnel(runtime.repo, CAMPAIGN.campaignId);
    const again = await importAt(APRIL, bank(APRIL_AUM));
    expect(again.converted).toBeUndefined();
    expect((await readFunnel(runtime.repo, CAMPAIGN.campaignId)).total).toEqual(before.total);
  });

  it("does not convert a move up outside the attribution window", async () => {
    const before = await readFunnel(runtime.repo, CAMPAIGN.campaignId);
    // Customers 1 and 2 (not moved in April) reach quality only 35 days after the send.
    const late = await importAt(
      LATE,
      bank((i) => (i === 1 || i === 2 ? 60_000 : APRIL_AUM(i))),
    );
    expect(late.converted).toBeUndefined();
    expect((await readFunnel(runtime.repo, CAMPAIGN.campaignId)).total.converted).toBe(
      before.total.converted,
    );
  });
});

describe("growth examples previewed on the synthetic bank (the launch's decide code)", () => {
  const BANK_AT = new Date("2027-03-01T00:00:00Z");
  const NOW = new Date("2027-03-01T02:00:00Z");
  let bankRuntime: Runtime;
  const raw = [...syntheticCustomers({ customers: 3_000, seed: 7, at: BANK_AT })];
  beforeAll(async () => {
    bankRuntime = await localBank(3_000, BANK_AT);
  }, 120_000);
  afterAll(async () => bankRuntime?.stop());
  const preview = (name: string) =>
    previewCampaign(
      bankRuntime.repo,
      readCampaignFile(`examples/${name}.json`, bankRuntime.config),
      bankRuntime.config,
      NOW,
      bankRuntime.secret,
    );
  const customers = () => raw.map((r) => toCustomer(CustomerInput.parse(r), bankRuntime.config));

  it("tier-upgrade: the audience is every retail customer at ≥ 90% of the next tier's bound (counted from the raw data)", async () => {
    const next: Record<string, number> = { potential: 50_000, quality: 300_000, key: 1_000_000 };
    const expected = customers().filter(
      (c) =>
        c.kind === "retail" &&
        next[c.tier] !== undefined &&
        Math.round(c.aum * 100) * 100 >= 90 * next[c.tier]! * 100,
    ).length;
    const p = await preview("tier-upgrade");
    expect(expected).toBeGreaterThan(30);
    expect(p.audience).toBe(expected);
    expect(p.problems).toEqual([]);
  });

  it("asset-retention: quality and key customers down ≥ 20% since December, assessed C2 or above", async () => {
    const expected = customers().filter((c) => {
      const dec = c.aumHistory?.["2026-12"];
      return (
        c.kind === "retail" &&
        (c.tier === "quality" || c.tier === "key") &&
        dec !== undefined &&
        c.aum <= dec * 0.8 + 1e-6 &&
        ["C2", "C3", "C4", "C5"].includes(c.riskTolerance ?? "")
      );
    }).length;
    const p = await preview("asset-retention");
    expect(expected).toBeGreaterThan(5);
    expect(p.audience).toBe(expected);
  });

  it("card-upgrade and cd-maturity find their customers", async () => {
    const silverNoCard = customers().filter(
      (c) =>
        c.kind === "retail" &&
        (c.cardTier ?? c.cardEligible) === "silver" &&
        !c.products?.includes("CREDIT_CARD"),
    ).length;
    expect((await preview("card-upgrade")).audience).toBe(silverNoCard);
    const maturing = customers().filter(
      (c) =>
        (c.tier === "key" || c.tier === "private") &&
        c.cdMaturesAt !== undefined &&
        (c.cdAmount ?? 0) >= 200_000 &&
        c.cdMaturesAt >= "2027-03-01" &&
        c.cdMaturesAt <= "2027-03-15",
    ).length;
    expect(maturing).toBeGreaterThan(0);
    expect((await preview("cd-maturity")).audience).toBe(maturing);
  });
});
