import { describe, expect, it } from "vitest";
import { parseCampaign } from "#functions/campaign/schema.ts";
import {
  confirmationCampaign,
  confirmationKind,
  followUpCampaign,
  invitationLanguage,
} from "#functions/events/salon.ts";
import { parseConfig, RSVP_TEXTS } from "#platform/config.ts";
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

  it("gives the seat freed and the repeated yes their own campaigns, with default texts a config written before them keeps", () => {
    const promoted = followUpCampaign(invitation, config, "promoted")!;
    const already = followUpCampaign(invitation, config, "already")!;
    expect(promoted.campaignId).toBe(`${invitation.campaignId}-rsvp-seat`);
    expect(already.campaignId).toBe(`${invitation.campaignId}-rsvp-again`);
    expect(promoted.variants.map((v) => [v.id, v.channel, v.template])).toEqual([
      ["SEAT", "sms", RSVP_TEXTS.zh.promoted],
    ]);
    expect(already.variants[0]).toMatchObject({ id: "AGAIN", template: RSVP_TEXTS.zh.already });
    // A config naming only the three first texts (written before these) parses, and the defaults apply.
    const older = parseConfig({
      salon: { confirmations: { zh: { seat: "座位", waitlisted: "候补", full: "满" } } },
    });
    expect(followUpCampaign(invitation, older, "already")!.variants[0]!.template).toBe(RSVP_TEXTS.zh.already);
    const custom = parseConfig({
      salon: { confirmations: { zh: { ...RSVP_TEXTS.zh, promoted: "有座位了{{eventName}}" } } },
    });
    expect(followUpCampaign(invitation, custom, "promoted")!.variants[0]!.template).toBe(
      "有座位了{{eventName}}",
    );
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
        {
          ...invitation,
          // The invitation itself must name its reminder's code through a domestic vendor.
          event: { ...invitation.event!, reminderSmsTemplateCode: "SMS_9" },
          variants: invitation.variants.map((v) => ({ ...v, smsTemplateCode: "SMS_1" })),
        },
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
    expect(followUpCampaign(withCodes(coded), coded, "promoted")).toBeUndefined();
    const all = parseConfig({
      sms: { vendor: "aliyun" },
      salon: { templateCodes: { promoted: "SMS_14", already: "SMS_15" } },
    });
    expect(followUpCampaign(withCodes(all), all, "promoted")!.variants[0]!.smsTemplateCode).toBe("SMS_14");
    expect(followUpCampaign(withCodes(all), all, "already")!.variants[0]!.smsTemplateCode).toBe("SMS_15");
  });
});
