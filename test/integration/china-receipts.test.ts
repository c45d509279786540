import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveCampaign } from "#functions/campaign/record.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { sendOne } from "#functions/dispatch/core.ts";
import { decidePage, reconcileCampaign } from "#functions/launch/core.ts";
import { type LedgerRow, stageIndex } from "#functions/ledger/rows.ts";
import { receiptToken } from "#functions/receipts/vendor.ts";
import { type DispatchServices, type SmsVendorOptions, startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { rebuild } from "../../cli/funnel.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

// The domestic vendors' receipts and query APIs (AWS China), end to end on the embedded runtime: the
// worker's real adapter, the vendor's verifying local gateway, its pushes to `serve`'s callback URL.
const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
const SIGN = "Tiercast银行";
const CODES: Record<string, string> = { W: "SMS_460725001", A: "SMS_460725002", B: "SMS_460725003" };
const DELIVERED = stageIndex("delivered");

const vendors: [string, SmsVendorOptions][] = [
  [
    "aliyun",
    {
      provider: "aliyun",
      signName: SIGN,
      signNames: [SIGN],
      credentials: { accessKeyId: "LTAI5tLocalReceipts", accessKeySecret: "aliyun-receipts-secret-01" },
    },
  ],
  [
    "tencent",
    {
      provider: "tencent",
      appId: "1400123456",
      signName: SIGN,
      signNames: [SIGN],
      credentials: { secretId: "AKIDlocalReceipts", secretKey: "tencent-receipts-secret-01" },
    },
  ],
];

describe.each(vendors)("%s: receipts and reconciling lost answers", (name, vendor) => {
  let runtime: Runtime;
  let dispatch: DispatchServices;
  let server: LocalServer;
  beforeAll(async () => {
    runtime = await localBank(
      400,
      new Date("2027-02-28T00:00:00Z"),
      {},
      { smsTimeoutMs: 300, leaseMs: 1_000, sweepAfterMs: 1_500 },
    );
    setClock(runtime, AT);
    dispatch = await startDispatch(runtime, { smsVendor: vendor });
    server = await startServe(runtime, { port: 0, webDir: false, schedulerMs: 0, receiptsMs: 0 });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  const campaign = (campaignId: string) => {
    const raw = readCampaignFile("examples/dormant-reactivation.json", runtime.config) as {
      variants: Record<string, unknown>[];
    };
    return parseCampaign(
      {
        ...raw,
        campaignId,
        variants: raw.variants.map((v) => ({ ...v, smsTemplateCode: CODES[String(v.id)] })),
      },
      runtime.app.config,
    );
  };
  const tagged = (sendKey: string) => dispatch.sms.messages.filter((m) => m.tag === sendKey);
  const sendKeyOf = (r: LedgerRow) => `${r.campaignId}#${r.customerId}#sms`;

  /** Decides a campaign without sending, then sends one SMS recipient by hand with the gateway's fault. */
  async function oneUnknown(campaignId: string, fault: () => void) {
    await saveCampaign(runtime.repo, campaign(campaignId), new Date(AT));
    const deps = { ...runtime.app.base(), enqueue: async () => {}, sweepAfterMs: 60_000 };
    for (let shard = 0; shard < runtime.config.shards; shard++)
      await decidePage({ campaignId, at: AT, task: { tier: "potential", shard } }, deps);
    const row = (await ledgerRows(runtime, campaignId)).find(
      (r) => r.decision === "queued" && r.channel === "sms",
    );
    expect(row).toBeDefined();
    fault();
    try {
      const outcome = await sendOne(
        { customerId: row!.customerId, shard: row!.shard },
        campaignId,
        1,
        await runtime.app.dispatchDeps(),
      );
      expect(outcome).toBe("unknown");
    } finally {
      dispatch.sms.faults.timeoutRate = 0;
    }
    const unknown = (await ledgerRows(runtime, campaignId)).find((r) => r.customerId === row!.customerId)!;
    expect(unknown.decision).toBe("unknown");
    return unknown;
  }

  it("a lost answer (the vendor sent it) is settled as sent from the vendor's query API, never resent", {
    timeout: 60_000,
  }, async () => {
    const row = await oneUnknown(`lost-${name}`, () => {
      dispatch.sms.faults.timeoutRate = 1;
    });
    expect(tagged(sendKeyOf(row))).toHaveLength(1);
    const before = dispatch.vendor!.answers.length;
    const out = await reconcileCampaign(row.campaignId, runtime.app.launchDeps());
    expect(out).toEqual({ requeued: 0, waiting: 0 });
    // The adapter asked the vendor's own query API (signed, verified by the gateway).
    expect(dispatch.vendor!.answers.length).toBeGreaterThan(before);
    const after = (await ledgerRows(runtime, row.campaignId)).find((r) => r.customerId === row.customerId)!;
    expect(after.decision).toBe("sent");
    expect(after.messageId).toBe(
      name === "aliyun" ? `aliyun-out:${sendKeyOf(row)}` : tagged(sendKeyOf(row))[0]!.messageId,
    );
    expect(tagged(sendKeyOf(row))).toHaveLength(1);

    // The vendor's receipt for it, pushed to serve's callback URL, moves it to delivered.
    expect(await dispatch.vendor!.flushReceipts()).toBeGreaterThan(0);
    const delivered = (await ledgerRows(runtime, row.campaignId)).find(
      (r) => r.customerId === row.customerId,
    )!;
    expect(delivered.stage).toBe(DELIVERED);
  });

  it("a request the vendor never received: Aliyun's records prove it (sent again, once); Tencent's cannot (the policy)", {
    timeout: 60_000,
  }, async () => {
    const row = await oneUnknown(`dropped-${name}`, () => dispatch.vendor!.dropNext(1));
    expect(tagged(sendKeyOf(row))).toHaveLength(0);
    // Not before the request could still be on the wire.
    expect(await reconcileCampaign(row.campaignId, runtime.app.launchDeps())).toEqual(
      name === "aliyun" ? { requeued: 0, waiting: 1 } : { requeued: 0, waiting: 0 },
    );
    setClock(runtime, new Date(Date.parse(AT) + 60_000).toISOString());
    const out = await reconcileCampaign(row.campaignId, runtime.app.launchDeps());
    if (name === "aliyun") {
      expect(out).toEqual({ requeued: 1, waiting: 0 });
      const deadline = Date.now() + 30_000;
      let now: LedgerRow | undefined;
      do {
        await new Promise((r) => setTimeout(r, 100));
        now = (await ledgerRows(runtime, row.campaignId)).find((r) => r.customerId === row.customerId);
      } while (now?.decision !== "sent" && Date.now() < deadline);
      expect(now?.decision).toBe("sent");
      expect(tagged(sendKeyOf(row))).toHaveLength(1);
    } else {
      // Tencent lists a send only once the carrier reported on it: absence proves nothing. The row
      // waits; after the policy window (24 h) nobody could say, so it is failed, never resent.
      expect(out).toEqual({ requeued: 0, waiting: 0 });
      setClock(runtime, new Date(Date.parse(AT) + 25 * 3_600_000).toISOString());
      await reconcileCampaign(row.campaignId, runtime.app.launchDeps());
      const settled = (await ledgerRows(runtime, row.campaignId)).find(
        (r) => r.customerId === row.customerId,
      );
      expect(settled?.decision).toBe("failed");
      expect(settled?.reason).toBe("outcome_unconfirmed");
      expect(tagged(sendKeyOf(row))).toHaveLength(0);
    }
    setClock(runtime, AT);
  });

  it("a launch's receipts are applied once: a redelivered push changes nothing", {
    timeout: 120_000,
  }, async () => {
    await dispatch.vendor!.flushReceipts();
    const c = campaign(`receipts-${name}`);
    const result = await launchCampaign(runtime, c, new Date(AT));
    expect(result.sent).toBeGreaterThan(0);
    const pushed = await dispatch.vendor!.flushReceipts();
    expect(pushed).toBe(result.sent);
    const rows = (await ledgerRows(runtime, c.campaignId)).filter((r) => r.decision === "sent");
    expect(rows.length).toBe(result.sent);
    for (const r of rows) expect(r.stage).toBe(DELIVERED);
    expect((await rebuild(runtime, c.campaignId)).differences).toEqual([]);

    // The vendor pushes everything again (it was unsure we got it): every report is a duplicate.
    const token = receiptToken(runtime.secret, vendor.provider);
    expect(await dispatch.vendor!.redeliverReceipts()).toBeGreaterThan(pushed);
    expect((await rebuild(runtime, c.campaignId)).differences).toEqual([]);
    const again = (await ledgerRows(runtime, c.campaignId)).filter((r) => r.decision === "sent");
    expect(again.map((r) => r.stage)).toEqual(rows.map((r) => r.stage));

    // The callback URL refuses a push without its token, before reading it.
    const forged = await fetch(`${server.url}/hooks/sms/${vendor.provider}?token=${token.slice(1)}x`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "[]",
    });
    expect(forged.status).toBe(401);
    const bad = await fetch(`${server.url}/hooks/sms/${vendor.provider}?token=${token}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '[{"nothing": 1}]',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe("bad_input");
  });
});
