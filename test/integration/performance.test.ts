import { DeleteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser, type NewUser } from "#functions/access/users.ts";
import { readAudit } from "#functions/audit/store.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { booksReport } from "#functions/customers/reports.ts";
import { getCustomer, putCustomers } from "#functions/customers/store.ts";
import { ingestEvent } from "#functions/events/core.ts";
import { readFunnel } from "#functions/funnel/core.ts";
import { parsePerfSk, perfItems, perfSk } from "#functions/funnel/counters.ts";
import { type LedgerRow, STAGES } from "#functions/ledger/rows.ts";
import type { UseCaseDeps } from "#functions/usecases/context.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { rebuild } from "../../cli/funnel.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { customer, dormantCampaign } from "../fixtures/campaigns.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";
import { apiCaller } from "./http.ts";

const BANK_AT = new Date("2027-02-28T00:00:00Z");
const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
const CAMPAIGN = "perf-dormant";
let runtime: Runtime;
let server: LocalServer;
let deps: UseCaseDeps;
let rows: LedgerRow[] = [];
const tokens: Record<string, string> = {};
const call = apiCaller(() => server.url);

/** What the ledger says per branch (or branch × RM): the exact figures the counters must give. */
function fold(by: "branch" | "rm") {
  const out = new Map<string, Record<string, number>>();
  for (const r of rows) {
    const k = by === "branch" ? (r.branchId ?? "(none)") : `${r.branchId ?? "(none)"}/${r.rmId ?? "(none)"}`;
    const f = out.get(k) ?? {
      targeted: 0,
      eligible: 0,
      sent: 0,
      converted: 0,
      holdout: 0,
      holdoutConverted: 0,
    };
    f.targeted!++;
    if (r.holdout) {
      f.holdout!++;
      if (r.stage >= STAGES.indexOf("converted")) f.holdoutConverted!++;
    } else {
      if (r.stage >= STAGES.indexOf("eligible")) f.eligible!++;
      if (r.stage >= STAGES.indexOf("sent")) f.sent!++;
      if (r.stage >= STAGES.indexOf("converted")) f.converted!++;
    }
    out.set(k, f);
  }
  return out;
}

describe("branch and RM performance, cascaded indicators, book rules", () => {
  beforeAll(async () => {
    // 12,000 customers: two branches (BR001, BR002), about twenty RMs.
    runtime = await localBank(12_000, BANK_AT);
    setClock(runtime, AT);
    deps = { repo: runtime.repo, config: runtime.config, secret: runtime.secret, now: runtime.clock.now };
    const campaign = parseCampaign(
      dormantCampaign({
        campaignId: CAMPAIGN,
        variants: [
          { id: "A", tiers: ["potential", "quality"], channel: "sms", template: "{{name|客户}}您好" },
        ],
        holdoutPercent: 10,
      }),
      runtime.config,
    );
    expect((await launchCampaign(runtime, campaign, new Date(AT))).status).toBe("SUCCEEDED");
    rows = await ledgerRows(runtime, CAMPAIGN);
    // Conversions: every 3rd sent recipient and every 2nd holdout transacts, on 2 March or 30 March.
    const sent = rows.filter((r) => r.decision === "sent");
    const held = rows.filter((r) => r.holdout);
    const converting = [...sent.filter((_, i) => i % 3 === 0), ...held.filter((_, i) => i % 2 === 0)];
    for (const [i, r] of converting.entries()) {
      const outcome = await ingestEvent(
        {
          eventId: `perf-tx-${r.customerId}`,
          type: "transaction",
          customerId: r.customerId,
          at: i % 2 ? "2027-03-02T03:00:00Z" : "2027-03-30T03:00:00Z",
          amount: 100,
        },
        { repo: runtime.repo, shards: runtime.config.shards, config: runtime.config, secret: runtime.secret },
      );
      expect(outcome.status).toBe("accepted");
    }
    rows = await ledgerRows(runtime, CAMPAIGN);
    server = await startServe(runtime, { schedulerMs: 0, webDir: false });
    const users: NewUser[] = [
      { userId: "ada", role: "admin" },
      { userId: "ann", role: "analyst" },
      { userId: "bm1", role: "branch_manager", branchId: "BR001" },
      { userId: "bm2", role: "branch_manager", branchId: "BR002" },
      { userId: "RM0001", role: "rm", branchId: "BR001" },
    ];
    for (const u of users) tokens[u.userId] = (await addUser(runtime.repo, u, new Date(AT))).token;
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  it("gives per branch exactly what the ledger holds, and adds up to the campaign funnel", async () => {
    const res = await call("GET", `/api/performance?campaign=${CAMPAIGN}`, tokens.ann);
    expect(res.status).toBe(200);
    const report = res.json as unknown as { rows: Record<string, unknown>[]; total: Record<string, unknown> };
    const expected = fold("branch");
    expect(report.rows.map((r) => r.branchId)).toEqual(["BR001", "BR002"]);
    for (const r of report.rows) expect(r).toMatchObject(expected.get(String(r.branchId))!);
    const funnel = await readFunnel(runtime.repo, CAMPAIGN);
    for (const s of STAGES) expect(report.total[s]).toBe(funnel.total[s]);
    expect(report.total.holdout).toBe(funnel.total.holdout);
    expect(report.total.holdoutConverted).toBe(funnel.total.holdoutConverted);
    expect(funnel.total.converted).toBeGreaterThan(0);
  });

  it("gives per RM exactly what the ledger holds, with the uplift against the RM's holdout", async () => {
    const res = await call("GET", `/api/performance?by=rm&campaign=${CAMPAIGN}`, tokens.ada);
    const report = res.json as unknown as { rows: Record<string, unknown>[] };
    const expected = fold("rm");
    expect(report.rows.length).toBe(expected.size);
    expect(report.rows.length).toBeGreaterThan(10);
    for (const r of report.rows) {
      const e = expected.get(`${r.branchId}/${r.rmId}`)!;
      expect(r).toMatchObject(e);
      const rate = e.eligible ? e.converted! / e.eligible : 0;
      const holdoutRate = e.holdout ? e.holdoutConverted! / e.holdout : 0;
      expect(r.uplift).toBeCloseTo(rate - holdoutRate, 5);
    }
  });

  it("keeps a day window: the conversions of 2 March only", async () => {
    const res = await call("GET", `/api/performance?campaign=${CAMPAIGN}&period=2027-W09`, tokens.ada);
    const total = (res.json as { total: Record<string, number> }).total;
    // W09 is 1–7 March: the launch day's targeted/sent, and the conversions of the 2nd (odd i).
    const converting = rows.filter((r) => !r.holdout && r.stage === STAGES.indexOf("converted"));
    expect(total.converted).toBeLessThan(converting.length);
    expect(total.converted).toBeGreaterThan(0);
    expect(total.targeted).toBe(rows.length);
  });

  it("exports CSV: a header and one line per RM", async () => {
    const res = await call("GET", `/api/performance?by=rm&campaign=${CAMPAIGN}&format=csv`, tokens.ann);
    expect(res.type).toContain("text/csv");
    const lines = res.text.trimEnd().split("\n");
    expect(lines[0]).toBe(
      "branchId,rmId,targeted,eligible,sent,delivered,engaged,responded,converted,holdout,holdoutConverted,conversionRate,holdoutConversionRate,uplift,upliftLow,upliftHigh,incrementalConversions",
    );
    expect(lines.length - 1).toBe(fold("rm").size);
  });

  it("shows a branch user only their branch (another branch is 403), an RM only their own", async () => {
    const mine = await call("GET", `/api/performance?by=rm`, tokens.bm1);
    expect(mine.status).toBe(200);
    const mineRows = (mine.json as { rows: { branchId: string }[] }).rows;
    expect(mineRows.length).toBeGreaterThan(0);
    expect(mineRows.every((r) => r.branchId === "BR001")).toBe(true);
    const other = await call("GET", `/api/performance?branch=BR002`, tokens.bm1);
    expect(other.status).toBe(403);
    expect(other.json.error).toBe("other_branch");
    const csv = await call("GET", `/api/performance?branch=BR002&format=csv`, tokens.bm1);
    expect(csv.status).toBe(403);
    const rm = await call("GET", `/api/performance`, tokens.RM0001);
    expect((rm.json as { rows: { rmId: string }[] }).rows.map((r) => r.rmId)).toEqual(["RM0001"]);
    const rmOther = await call("GET", `/api/performance?rm=RM0002`, tokens.RM0001);
    expect(rmOther.status).toBe(403);
    expect(rmOther.json.error).toBe("other_rm");
  });

  it("cascades the bank's indicator, exactly, and shows progress from the counters", async () => {
    const refused = await call("PUT", "/api/indicators/2027Q1/converted", tokens.bm1, { value: 1000 });
    expect(refused.status).toBe(403);
    const bad = await call("PUT", "/api/indicators/2027-03/won", tokens.ada, { value: -1, split: "x" });
    expect(bad.status).toBe(400);
    expect((bad.json.problems as string[]).length).toBe(4);
    const set = await call("PUT", "/api/indicators/2027Q1/converted", tokens.ada, { value: 1000 });
    expect(set.status).toBe(200);
    const nodes = (
      set.json as { nodes: { level: string; quarter: number; months: Record<string, number> }[] }
    ).nodes;
    expect(nodes[0]).toMatchObject({ level: "bank", quarter: 1000 });
    expect(nodes[0]!.months).toEqual({ "2027-01": 334, "2027-02": 333, "2027-03": 333 });
    const branches = nodes.filter((n) => n.level === "branch");
    const rms = nodes.filter((n) => n.level === "rm");
    expect(branches.reduce((a, n) => a + n.quarter, 0)).toBe(1000);
    expect(rms.reduce((a, n) => a + n.quarter, 0)).toBe(1000);
    for (const m of ["2027-01", "2027-02", "2027-03"])
      expect(rms.reduce((a, n) => a + n.months[m]!, 0)).toBe(nodes[0]!.months[m]);

    const progress = await call("GET", "/api/indicators/2027Q1/converted?level=bank", tokens.ann);
    const bankRows = (progress.json as { rows: { period: string; actual: number }[] }).rows;
    const treatedConverted = rows.filter((r) => !r.holdout && r.stage === STAGES.indexOf("converted")).length;
    expect(bankRows.find((r) => r.period === "2027Q1")!.actual).toBe(treatedConverted);
    expect(bankRows.find((r) => r.period === "2027-03")!.actual).toBe(treatedConverted);
    expect(bankRows.find((r) => r.period === "2027-02")!.actual).toBe(0);

    const branchView = await call("GET", "/api/indicators/2027Q1/converted?grain=month", tokens.bm1);
    const branchRows = (branchView.json as { rows: { branchId?: string }[] }).rows;
    expect(branchRows.length).toBeGreaterThan(0);
    expect(branchRows.every((r) => r.branchId === "BR001")).toBe(true);
    expect((await call("GET", "/api/indicators/2027Q1/converted?branch=BR002", tokens.bm1)).status).toBe(403);
    expect((await call("GET", "/api/indicators/2027Q2/converted", tokens.ada)).status).toBe(404);
  });

  it("lets a branch manager re-split the branch's share among its RMs by hand, a new RM too; nothing above moves", async () => {
    type Row = { level: string; branchId?: string; rmId?: string; period: string; target: number };
    const figures = async (query: string) =>
      ((await call("GET", `/api/indicators/2027Q1/converted?${query}`, tokens.ada)).json as { rows: Row[] })
        .rows;
    const key = (r: Row) => `${r.level}|${r.branchId ?? ""}|${r.period}`;
    const above = async () =>
      new Map(
        [...(await figures("level=bank")), ...(await figures("level=branch"))].map((r) => [key(r), r.target]),
      );
    const before = await above();
    const rmsBefore = (await figures("level=rm&grain=quarter")).filter((r) => r.branchId === "BR001");
    expect(rmsBefore.length).toBeGreaterThan(1);
    const branchQuarter = before.get("branch|BR001|2027Q1")!;
    expect(rmsBefore.reduce((a, r) => a + r.target, 0)).toBe(branchQuarter);
    await addUser(runtime.repo, { userId: "RM-NEW1", role: "rm", branchId: "BR001" }, new Date(AT));
    // Every RM keeps their share but the first, who gives 10 to the new RM.
    const shares = rmsBefore.map((r, i) => ({ rmId: r.rmId!, quarter: r.target - (i === 0 ? 10 : 0) }));
    shares.push({ rmId: "RM-NEW1", quarter: 10 });
    const path = "/api/indicators/2027Q1/converted/branches/BR001";
    expect((await call("PUT", path, tokens.bm2, { rms: shares })).json.error).toBe("other_branch");
    expect((await call("PUT", path, tokens.RM0001, { rms: shares })).status).toBe(403);
    const bad = await call("PUT", path, tokens.bm1, {
      rms: [...shares.slice(1), { rmId: "RM-GHOST", quarter: 1 }],
    });
    expect(bad.status).toBe(400);
    expect((bad.json.problems as string[]).join("\n")).toMatch(
      /RM-GHOST: not an RM of branch BR001[\s\S]*add up/,
    );
    expect(
      (await call("PUT", "/api/indicators/2027Q2/converted/branches/BR001", tokens.bm1, { rms: shares }))
        .status,
    ).toBe(404);

    const res = await call("PUT", path, tokens.bm1, { rms: shares });
    expect(res.status).toBe(200);
    expect(res.json.branchId).toBe("BR001");
    expect((res.json.nodes as unknown[])[0]).toMatchObject({ level: "branch", rmSplit: { by: "bm1" } });
    expect(res.json.nodes as unknown[]).toHaveLength(shares.length + 1);
    // The bank's and every branch's figures, in every period, are as they were.
    expect(await above()).toEqual(before);
    const rmsAfter = (await figures("level=rm")).filter((r) => r.branchId === "BR001");
    const quarter = (id: string) => rmsAfter.find((r) => r.rmId === id && r.period === "2027Q1")?.target;
    expect(quarter("RM-NEW1")).toBe(10);
    expect(quarter(shares[0]!.rmId)).toBe(shares[0]!.quarter);
    // The RMs add up to the branch in the quarter, each month and each week part.
    const periods = new Set(rmsAfter.map((r) => r.period));
    for (const period of periods)
      expect(rmsAfter.filter((r) => r.period === period).reduce((a, r) => a + r.target, 0)).toBe(
        before.get(`branch|BR001|${period}`),
      );
    // Another branch's RMs are untouched; the split is audited with the shares before and after.
    const trail = await readAudit(deps, "indicator", "2027Q1.converted");
    expect(trail.intact).toBe(true);
    expect(trail.entries.at(-1)).toMatchObject({
      action: "split",
      actor: { userId: "bm1" },
      before: { branchId: "BR001", rms: Object.fromEntries(rmsBefore.map((r) => [r.rmId, r.target])) },
      after: { branchId: "BR001", rms: Object.fromEntries(shares.map((s) => [s.rmId, s.quarter])) },
    });
  });

  it("assigns books by rules A–D, through the customers' owner, branch-scoped and audited", async () => {
    // New customers without an RM: 3 quality and 2 potential in BR001, 1 quality in BR002, 1 in a branch without RMs.
    const fresh = [
      customer({ customerId: "NEW-Q1", aum: 100_000, rmId: undefined, branchId: "BR001" }),
      customer({ customerId: "NEW-Q2", aum: 100_000, rmId: undefined, branchId: "BR001" }),
      customer({ customerId: "NEW-Q3", aum: 100_000, rmId: undefined, branchId: "BR001" }),
      customer({ customerId: "NEW-P1", aum: 20_000, rmId: undefined, branchId: "BR001" }),
      customer({ customerId: "NEW-P2", aum: 20_000, rmId: undefined, branchId: "BR001" }),
      customer({ customerId: "NEW-B2", aum: 100_000, rmId: undefined, branchId: "BR002" }),
      customer({ customerId: "NEW-X", aum: 100_000, rmId: undefined, branchId: "BR009" }),
    ];
    await putCustomers(runtime.repo, fresh, AT);
    const before = await booksReport(deps, {});
    const unassignedBefore = before.unassignedCustomers.map((u) => u.customerId);
    expect(unassignedBefore).toEqual(expect.arrayContaining(fresh.map((c) => c.customerId)));
    const rm1 = (await getCustomer(runtime.repo, rows.find((r) => r.rmId === "RM0001")!.customerId))!;
    const other = rows.find((r) => r.branchId === "BR002" && r.rmId)!;

    // An RM cannot run the rules.
    expect((await call("POST", "/api/books/assign", tokens.RM0001, {})).status).toBe(403);
    const claims = [
      { customerId: "NEW-Q2", rmId: "RM0001" }, // B: taken
      { customerId: rm1.customerId, rmId: "RM0003" }, // A: keeps RM0001
      { customerId: "NEW-Q2", rmId: "RM0003" }, // claimed on line 1
      { customerId: "NEW-B2", rmId: "RM0001" }, // another branch's customer
      { customerId: "NEW-Q3", rmId: other.rmId! }, // an RM of BR002
      { customerId: "NOBODY", rmId: "RM0001" },
    ];
    const dry = await call("POST", "/api/books/assign", tokens.bm1, { claims, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.json.written).toBe(0);
    expect((await getCustomer(runtime.repo, "NEW-Q2"))!.rmId).toBeUndefined();

    const res = await call("POST", "/api/books/assign", tokens.bm1, { claims });
    expect(res.status).toBe(200);
    const out = res.json as {
      claimed: number;
      assigned: number;
      written: number;
      rejected: { line: number; error: string }[];
      assignments: { customerId: string; rmId: string; rule: string }[];
      unassigned: number;
    };
    expect(out.claimed).toBe(1);
    expect(out.rejected.map((r) => [r.line, r.error])).toEqual([
      [2, `customer ${rm1.customerId} keeps RM RM0001 (rule A)`],
      [3, "customer NEW-Q2 was claimed by RM0001 on line 1"],
      [4, "customer NEW-B2 is not a customer of branch BR001"],
      [5, expect.stringContaining(`${other.rmId} is an RM of branch BR002`)],
      [6, 'no customer "NOBODY"'],
    ]);
    // Rule C: BR001's unclaimed quality first, then potential, each to an RM of BR001; nothing of BR002.
    const ruleC = out.assignments.filter((a) => a.rule === "C");
    const byId = new Map(out.assignments.map((a) => [a.customerId, a.rmId]));
    expect(byId.get("NEW-Q2")).toBe("RM0001");
    expect(ruleC.map((a) => a.customerId).slice(0, 2)).toEqual(["NEW-Q1", "NEW-Q3"]);
    expect(byId.has("NEW-B2")).toBe(false);
    expect(byId.has("NEW-X")).toBe(false);
    expect(out.written).toBe(out.assignments.length);
    for (const [id, rmId] of byId) {
      const c = (await getCustomer(runtime.repo, id))!;
      expect(c.rmId).toBe(rmId);
      expect(c.branchId).toBe("BR001");
    }
    const audit = await readAudit(deps, "books", `${AT.slice(0, 10)}.BR001`);
    expect(audit.entries.map((e) => [e.action, e.actor.userId])).toEqual([["assign", "bm1"]]);
    expect(audit.entries[0]!.after).toMatchObject({ claimed: 1, written: out.written });

    // Head office: BR002's customer is assigned; BR009 has no RM; a second run changes nothing.
    const bank = await call("POST", "/api/books/assign", tokens.ada, {});
    const bankOut = bank.json as {
      assignments: { customerId: string }[];
      unassignedCustomers: { customerId: string; reason: string }[];
    };
    expect(bankOut.assignments.map((a) => a.customerId)).toContain("NEW-B2");
    expect(bankOut.unassignedCustomers).toContainEqual(
      expect.objectContaining({ customerId: "NEW-X", reason: "no_rm_in_branch" }),
    );
    const again = await call("POST", "/api/books/assign", tokens.ada, {});
    expect((again.json as { assignments: unknown[] }).assignments).toEqual([]);
  });

  it("caps every book (rule D): at a cap of 1, nobody more is assigned and the full books are listed", async () => {
    await putCustomers(
      runtime.repo,
      [customer({ customerId: "NEW-CAP", aum: 100_000, rmId: undefined, branchId: "BR001" })],
      AT,
    );
    const res = await call("POST", "/api/books/assign", tokens.ada, { cap: 1, dryRun: true });
    const out = res.json as {
      assignments: unknown[];
      unassignedCustomers: { customerId: string; reason: string }[];
      overCap: unknown[];
    };
    expect(out.assignments).toEqual([]);
    expect(out.unassignedCustomers).toContainEqual({
      customerId: "NEW-CAP",
      tier: "quality",
      branchId: "BR001",
      reason: "all_rms_at_cap",
    });
    expect(out.overCap.length).toBeGreaterThan(10);
  });

  it("funnel rebuild --repair puts back deleted and skewed performance counters, exactly, from the ledger", async () => {
    // A campaign launched before the performance counters existed has none: delete most, skew one.
    const items: Record<string, unknown>[] = [];
    for await (const item of perfItems(runtime.repo, CAMPAIGN)) items.push(item);
    expect(items.length).toBeGreaterThan(50);
    const [skewed, ...rest] = items;
    for (const item of rest.filter((_, i) => i % 4 !== 0))
      await runtime.repo.ddb.send(
        new DeleteCommand({ TableName: runtime.repo.table, Key: { PK: item.PK, SK: item.SK } }),
      );
    await runtime.repo.ddb.send(
      new UpdateCommand({
        TableName: runtime.repo.table,
        Key: { PK: skewed!.PK, SK: skewed!.SK },
        UpdateExpression: "ADD #n :n",
        ExpressionAttributeNames: { "#n": "n" },
        ExpressionAttributeValues: { ":n": 7 },
      }),
    );
    const before = await call("GET", `/api/performance?by=rm&campaign=${CAMPAIGN}`, tokens.ada);
    expect((before.json as { total: { targeted: number } }).total.targeted).not.toBe(rows.length);

    const checked = await rebuild(runtime, CAMPAIGN);
    expect(checked.matches).toBe(false);
    // Only performance counters differ: the funnel's own are intact.
    expect(checked.differences.length).toBeGreaterThan(0);
    expect(checked.differences.every((d) => d.counter.startsWith("P#"))).toBe(true);
    const { branchId, rmId, stage, holdout } = parsePerfSk(String(skewed!.SK));
    const skewedKey = perfSk({ branchId, rmId, holdout }, "*", stage).replace("#*#", "#");
    expect(checked.differences.find((d) => d.counter === skewedKey)).toMatchObject({
      live: expect.any(Number),
      ledger: expect.any(Number),
    });

    const repaired = await rebuild(runtime, CAMPAIGN, { repair: true });
    expect(repaired).toMatchObject({ matches: true, differences: [] });
    expect(repaired.repaired).toBe(checked.differences.length);
    const res = await call("GET", `/api/performance?by=rm&campaign=${CAMPAIGN}`, tokens.ada);
    const report = res.json as unknown as { rows: Record<string, unknown>[]; total: Record<string, number> };
    const expected = fold("rm");
    expect(report.rows.length).toBe(expected.size);
    for (const r of report.rows) expect(r).toMatchObject(expected.get(`${r.branchId}/${r.rmId}`)!);
    expect(report.total.targeted).toBe(rows.length);
    const funnel = await readFunnel(runtime.repo, CAMPAIGN);
    for (const s of STAGES) expect(report.total[s]).toBe(funnel.total[s]);
    // A second rebuild finds nothing to repair.
    expect((await rebuild(runtime, CAMPAIGN)).matches).toBe(true);
  });
});
