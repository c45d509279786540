import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decide, prepare } from "#functions/campaign/decide.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { classifyVendorCode, signNameOf } from "#functions/dispatch/china-sms.ts";
import { config, customer, dormantCampaign } from "../fixtures/campaigns.ts";

const NOON_SHANGHAI = new Date("2026-12-01T04:00:00Z");
const sms = (template: string, smsTemplateCode?: string) =>
  prepare(
    parseCampaign(
      dormantCampaign({
        variants: [
          {
            id: "A",
            tiers: ["potential", "quality"],
            channel: "sms",
            template,
            ...(smsTemplateCode ? { smsTemplateCode } : {}),
          },
        ],
      }),
      config,
    ),
    config,
    NOON_SHANGHAI,
    "secret-for-tests-0123456789",
  );

describe("SMS for a domestic vendor's registered template", () => {
  it("carries the variant's template code and each variable's value once, in order of appearance", () => {
    const d = decide(
      customer(),
      undefined,
      sms("{{name}}您好，{{branchId|本行}}诚邀{{name}}", "SMS_460725001"),
    );
    expect(d.message?.template).toEqual({
      code: "SMS_460725001",
      params: [
        { name: "name", value: "王伟" },
        { name: "branchId", value: customer().branchId ?? "本行" },
      ],
    });
  });

  it("fills a variable the customer lacks with the template's default, as the text does", () => {
    const d = decide(customer({ name: undefined }), undefined, sms("{{name|客户}}您好", "SMS_1"));
    expect(d.message?.template?.params).toEqual([{ name: "name", value: "客户" }]);
    expect(d.message?.text).toContain("客户您好");
  });

  it("leaves messages of a variant without a code as they were", () => {
    expect(decide(customer(), undefined, sms("{{name}}您好")).message).not.toHaveProperty("template");
  });

  it("refuses a template code a vendor cannot have", () => {
    expect(() => sms("{{name}}您好", "SMS 1; drop")).toThrow(/smsTemplateCode/);
  });
});

describe("vendor error codes", () => {
  it.each([
    ["aliyun", "isv.BUSINESS_LIMIT_CONTROL", "throttled"],
    ["aliyun", "isv.MOBILE_NUMBER_ILLEGAL", "rejected"],
    ["aliyun", "isv.SMS_TEMPLATE_ILLEGAL", "config"],
    ["aliyun", "SignatureDoesNotMatch", "config"],
    ["aliyun", "isp.SYSTEM_ERROR", "unavailable"],
    ["aliyun", "Throttling.User", "throttled"],
    ["tencent", "LimitExceeded.PhoneNumberThirtySecondLimit", "throttled"],
    ["tencent", "InvalidParameterValue.IncorrectPhoneNumber", "rejected"],
    ["tencent", "FailedOperation.SignatureIncorrectOrUnapproved", "config"],
    ["tencent", "AuthFailure.SecretIdNotFound", "config"],
    ["tencent", "InternalError.Timeout", "unknown"],
    ["tencent", "SomethingNew.NeverSeen", "unavailable"],
  ] as const)("%s %s is %s", (vendor, code, verdict) => {
    expect(classifyVendorCode(vendor, code).verdict).toBe(verdict);
  });

  it("registers the signature without its brackets", () => {
    expect(signNameOf("【Tiercast银行】")).toBe("Tiercast银行");
  });
});

describe("a salon invitation through a domestic vendor", () => {
  const salon = () => {
    const raw = JSON.parse(readFileSync("examples/salon-invite.json", "utf8")) as {
      variants: Record<string, unknown>[];
      event: Record<string, unknown>;
    };
    return { ...raw, variants: raw.variants.map((v) => ({ ...v, smsTemplateCode: "SMS_460725009" })) };
  };
  const vendor = { ...config, sms: { ...config.sms, vendor: "tencent" as const } };

  it("needs the RSVP reminder's registered template code too, named at validation (not at the RSVP)", () => {
    const problems = (() => {
      try {
        parseCampaign(salon(), vendor);
        return [];
      } catch (err) {
        return (err as { problems: string[] }).problems;
      }
    })();
    expect(problems).toEqual([
      expect.stringMatching(
        /^event\.reminderSmsTemplateCode: required: the RSVP reminder is an SMS through Tencent/,
      ),
    ]);
    const ok = parseCampaign(
      { ...salon(), event: { ...salon().event, reminderSmsTemplateCode: "2201009" } },
      vendor,
    );
    expect(ok.event?.reminderSmsTemplateCode).toBe("2201009");
    // Without a vendor, nothing changes.
    expect(() => parseCampaign(salon(), config)).not.toThrow();
  });
});
