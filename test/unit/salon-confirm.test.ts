import { describe, expect, it } from "vitest";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { confirmationCampaign, confirmationKind, invitationLanguage } from "#functions/events/salon.ts";
import { parseConfig } from "#platform/config.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";

const config = parseConfig({});
const invitation = readCampaignFile("examples/salon-invite.json", config);

describe("the salon RSVP confirmation's campaign", () => {
  it("answers each outcome with its own variant, in the invitation's language, texts from config", () => {
    const c = confirmationCampaign(invitation, config)!;
    expect(c.campaignId).toBe(`${invitation.campaignId}-rsvp`);
    expect(c.variants.map((v) => [v.id, v.channel])).toEqual([
      ["SEAT", "sms"],
      ["WAIT", "sms"],
      ["FULL", "sms"],
    ]);
    expect(c.variants[0]!.template).toBe(config.salon.confirmations.zh.seat);
    const english = parseCampaign(
      {
        ...invitation,
        variants: invitation.variants.map((v) => ({
          ...v,
          template: "Join us at {{eventName}}. Reply Y.",
          subject: v.subject && "Invitation",
          fallbackTemplate: v.fallbackTemplate && "Join us. Reply Y.",
        })),
      },
      config,
    );
    expect(invitationLanguage(invitation)).toBe("zh");
    expect(invitationLanguage(english)).toBe("en");
    const custom = parseConfig({
      salon: { confirmations: { en: { seat: "Seat {{eventName}}", waitlisted: "Wait", full: "Full" } } },
    });
    expect(confirmationCampaign(english, custom)!.variants.map((v) => v.template)).toEqual([
      "Seat {{eventName}}",
      "Wait",
      "Full",
    ]);
    // The other language keeps its defaults.
    expect(custom.salon.confirmations.zh).toEqual(config.salon.confirmations.zh);
  });

  it("maps an RSVP's status to the confirmation it gets (none while pending or cancelled)", () => {
    expect(confirmationKind("confirmed")).toBe("seat");
    expect(confirmationKind("waitlisted")).toBe("waitlisted");
    expect(confirmationKind("full")).toBe("full");
    expect(confirmationKind("pending")).toBeUndefined();
    expect(confirmationKind("cancelled")).toBeUndefined();
  });

  it("through a domestic SMS vendor: the configured template codes, or no confirmation (never a failing event)", () => {
    const china = parseConfig({ sms: { vendor: "aliyun" } });
    const withCodes = (c: typeof china) =>
      parseCampaign(
        { ...invitation, variants: invitation.variants.map((v) => ({ ...v, smsTemplateCode: "SMS_1" })) },
        c,
      );
    expect(confirmationCampaign(withCodes(china), china)).toBeUndefined();
    const coded = parseConfig({
      sms: { vendor: "aliyun" },
      salon: { templateCodes: { seat: "SMS_11", waitlisted: "SMS_12", full: "SMS_13" } },
    });
    expect(confirmationCampaign(withCodes(coded), coded)!.variants.map((v) => v.smsTemplateCode)).toEqual([
      "SMS_11",
      "SMS_12",
      "SMS_13",
    ]);
  });
});
