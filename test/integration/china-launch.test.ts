import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { previewCampaign } from "#functions/campaign/preview.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { TERMINAL } from "#functions/ledger/rows.ts";
import { type DispatchServices, type SmsVendorOptions, startDispatch } from "#local/dispatch.ts";
import type { Runtime } from "#local/runtime.ts";
import { CampaignValidationError } from "#platform/errors.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { launchCampaign } from "../../cli/launch.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

// A whole launch in the AWS China shape: the SMS worker's real vendor adapter signs each SendSms, and
// the local gateway (local/vendor-sms.ts) verifies it as the vendor does before the sink takes it.
const DAY1_10AM = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai
const SIGN = "Tiercast银行"; // the default config's 【Tiercast银行】
const CODES: Record<string, string> = { W: "SMS_460725001", A: "SMS_460725002", B: "SMS_460725003" };

const vendors: [string, SmsVendorOptions][] = [
  [
    "aliyun",
    {
      provider: "aliyun",
      signName: SIGN,
      signNames: [SIGN],
      credentials: { accessKeyId: "LTAI5tLocalLaunch", accessKeySecret: "aliyun-launch-secret-0123" },
    },
  ],
  [
    "tencent",
    {
      provider: "tencent",
      appId: "1400123456",
      signName: SIGN,
      signNames: [SIGN],
      credentials: { secretId: "AKIDlocalLaunch", secretKey: "tencent-launch-secret-0123" },
    },
  ],
];

describe.each(vendors)("a launch through %s on the embedded runtime", (_name, vendor) => {
  let runtime: Runtime;
  let dispatch: DispatchServices;
  beforeAll(async () => {
    runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"));
    setClock(runtime, DAY1_10AM);
    dispatch = await startDispatch(runtime, { smsVendor: vendor });
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  const file = () => readCampaignFile("examples/dormant-reactivation.json", runtime.config);
  const withCodes = () => {
    const raw = file() as { campaignId: string; variants: Record<string, unknown>[] };
    return {
      ...raw,
      campaignId: `${raw.campaignId}-${vendor.provider}`,
      variants: raw.variants.map((v) => ({ ...v, smsTemplateCode: CODES[String(v.id)] })),
    };
  };

  it("refuses at preview an SMS variant without its registered template code, saying why", () => {
    // The runtime sends through a vendor, so its config requires codes (as CDK sets it on AWS).
    expect(runtime.app.config.sms.vendor).toBe(vendor.provider);
    const error = (() => {
      try {
        parseCampaign(file(), runtime.app.config);
      } catch (err) {
        return err as CampaignValidationError;
      }
    })();
    expect(error).toBeInstanceOf(CampaignValidationError);
    // W and A are SMS; B falls back to SMS: each is named, with the reason.
    expect(error!.problems.filter((p: string) => p.includes("smsTemplateCode"))).toEqual(
      [0, 1, 2].map((i) =>
        expect.stringMatching(
          new RegExp(
            `^variants\\.${i}\\.smsTemplateCode: required: SMS goes through .*, which sends only registered templates`,
          ),
        ),
      ),
    );
  });

  it("sends every SMS as the registered template with our values, signed and verified, matching the preview", async () => {
    const campaign = parseCampaign(withCodes(), runtime.app.config);
    const preview = await previewCampaign(
      runtime.repo,
      campaign,
      runtime.app.config,
      new Date(DAY1_10AM),
      runtime.secret,
    );
    expect(preview.problems).toEqual([]);
    const result = await launchCampaign(runtime, campaign, new Date(DAY1_10AM));
    expect(result.status).toBe("SUCCEEDED");
    expect(result.sent).toBe(preview.eligible);
    const rows = await ledgerRows(runtime, campaign.campaignId);
    expect(rows).toHaveLength(preview.audience);
    expect(rows.every((r) => TERMINAL.has(r.decision))).toBe(true);
    const smsSent = rows.filter((r) => r.decision === "sent" && r.channel === "sms");
    expect(smsSent.length).toBeGreaterThan(0);
    // Every SMS went through the vendor gateway, which accepted each (its signature check passed).
    const accepted = dispatch.vendor!.answers.filter((a) => a.code === "OK" || a.code === "Ok");
    expect(accepted).toHaveLength(smsSent.length);
    expect(dispatch.vendor!.answers).toHaveLength(smsSent.length);
    expect(dispatch.sms.messages).toHaveLength(smsSent.length);
    expect(new Set(dispatch.sms.messages.map((m) => m.tag)).size).toBe(smsSent.length);
    expect(dispatch.sms.messages.length + dispatch.smtp.received.length).toBe(result.sent);
  }, 180_000);
});
