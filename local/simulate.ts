import type { Event } from "#functions/events/core.ts";
import type { LedgerRow } from "#functions/ledger/rows.ts";
import { rng } from "./synthetic.ts";

export interface Rates {
  delivered: Record<string, number>;
  engaged: Record<string, number>;
  responded: number;
  /** Conversion without the campaign, by tier (what the holdout shows). */
  base: Record<string, number>;
  /** The true absolute effect of being treated: what uplift should recover. */
  effect: number;
}

export const DEFAULT_RATES: Rates = {
  delivered: { sms: 0.96, email: 0.93, "rm-task": 1 },
  engaged: { sms: 0.07, email: 0.32, "rm-task": 0.6 },
  responded: 0.25,
  base: {
    mass: 0.02,
    potential: 0.04,
    quality: 0.06,
    key: 0.08,
    private: 0.1,
    class1: 0.05,
    class2: 0.05,
    class3: 0.05,
  },
  effect: 0.03,
};

const HOUR = 3_600_000;
const CONVERSION_EVENT: Record<string, Event["type"]> = {
  "dormant-reactivation": "transaction",
  "salon-invite": "attended",
  "key-maintenance": "replied",
  "referral-drive": "account_opened",
};

/**
 * Behaviour of recipients as events, deterministic by seed: delivery, engagement, response for the
 * treated, and conversion for both groups (base rate by tier; the treated add the true effect).
 * Business events carry no campaign id, so attribution has to find the campaign itself.
 */
export function* simulateEvents(
  rows: Iterable<LedgerRow>,
  playbook: string,
  seed: number,
  rates: Rates = DEFAULT_RATES,
  minDeposit = 10_000,
  /** Pass one generator across calls to simulate a ledger page by page with the sequence of one call. */
  r: () => number = rng(seed),
): Generator<Event> {
  for (const row of rows) {
    const id = (type: string) => `sim-${seed}-${row.campaignId}-${row.customerId}-${type}`;
    const start = Date.parse(row.sentAt ?? row.at);
    const later = (hours: number) => new Date(start + Math.floor(hours * HOUR) + 1000).toISOString();
    const base = rates.base[row.tier] ?? 0.03;
    if (row.holdout) {
      if (r() < base) yield businessEvent(row, playbook, id, later(24 + r() * 24 * 10), minDeposit);
      continue;
    }
    if (row.decision !== "sent" || !row.channel) continue;
    const channel = row.channel;
    const common = { customerId: row.customerId, campaignId: row.campaignId, channel };
    if (r() >= (rates.delivered[channel] ?? 0.95)) {
      yield { eventId: id("failed"), type: "failed", ...common, at: later(0.1) };
      continue;
    }
    yield { eventId: id("delivered"), type: "delivered", ...common, at: later(0.05) };
    const engaged = r() < (rates.engaged[channel] ?? 0.1);
    if (engaged)
      yield {
        eventId: id("engaged"),
        type: channel === "email" ? "opened" : "clicked",
        ...common,
        at: later(1 + r() * 5),
      };
    if (engaged && r() < rates.responded)
      yield {
        eventId: id("responded"),
        type: playbook === "salon-invite" ? "rsvp" : "replied",
        ...common,
        at: later(6 + r() * 24),
      };
    if (r() < Math.min(1, base + rates.effect))
      yield businessEvent(row, playbook, id, later(24 + r() * 24 * 10), minDeposit);
  }
}

function businessEvent(
  row: LedgerRow,
  playbook: string,
  id: (t: string) => string,
  at: string,
  minDeposit: number,
): Event {
  const type = CONVERSION_EVENT[playbook] ?? "transaction";
  if (playbook === "referral-drive") {
    // The referee opens an account with the referrer's code and funds it.
    return {
      eventId: id("referee"),
      type: "account_opened",
      customerId: `REF-${row.customerId}`,
      at,
      amount: minDeposit,
      referralCode: row.referralCode,
    };
  }
  return {
    eventId: id("convert"),
    type,
    customerId: row.customerId,
    at,
    ...(type === "transaction" ? { amount: 500 } : {}),
  };
}
