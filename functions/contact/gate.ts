import { createHmac } from "node:crypto";
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import {
  type ContactState,
  capReached,
  type DecideContext,
  MARKETING_CHANNELS,
  phoneMark,
} from "#functions/campaign/decide.ts";
import type { Channel } from "#functions/campaign/schema.ts";
import type { Customer } from "#functions/customers/record.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { type Repo, type UpdateParams, updateAlone } from "#platform/repo.ts";
import { key } from "#platform/table.ts";

/**
 * The contact owner: consent withdrawals (opt-outs) and the marketing sends that count against caps,
 * per customer and per address (phone number, email address). It alone writes these items.
 *
 * Every write bumps the item's `ver`, and a send takes its slot only with `ver` unchanged since it
 * judged the item. So an opt-out and a send on the same customer are serialized by the store: either
 * the send's slot was taken first (the send was decided before the opt-out), or the send sees the
 * opt-out. No send can start after an opt-out is stored.
 */
export type ContactItem = ContactState & {
  ver?: number;
  held?: { c: string; at: string; pb?: string }[];
};

/** Per phone number / email address, so two customers sharing one phone share its caps and opt-out. */
export function addressKey(secret: string, channel: Channel, address: string) {
  const digest = createHmac("sha256", secret).update(`address#${channel}#${address}`).digest("base64url");
  return { PK: `ADDR#${channel}#${digest.slice(0, 22)}`, SK: "STATE" };
}

export function addressOf(customer: Pick<Customer, "phone" | "email">, channel: Channel): string | undefined {
  return channel === "sms" ? customer.phone : channel === "email" ? customer.email : undefined;
}

const optedOut = (state: ContactState | undefined, channel: Channel) =>
  Boolean(state?.optOut?.[channel] ?? state?.optOut?.all);

async function bumpOptOut(repo: Repo, itemKey: Record<string, string>, channel: Channel | "all", at: string) {
  await repo.ddb.send(
    new UpdateCommand({
      TableName: repo.table,
      Key: itemKey,
      UpdateExpression: "SET optOut = if_not_exists(optOut, :empty)",
      ExpressionAttributeValues: { ":empty": {} },
    }),
  );
  // The version moves with the opt-out: a send that judged the item before it loses its slot write.
  await repo.ddb.send(
    new UpdateCommand({
      TableName: repo.table,
      Key: itemKey,
      UpdateExpression: "SET optOut.#ch = if_not_exists(optOut.#ch, :at) ADD ver :one",
      ExpressionAttributeNames: { "#ch": channel },
      ExpressionAttributeValues: { ":at": at, ":one": 1 },
    }),
  );
}

/**
 * Records an opt-out on the customer's contact state, and on their current addresses' (with the
 * runtime's secret): the next decision and every send that has not yet taken its slot see it.
 */
export async function recordOptOut(
  repo: Repo,
  customerId: string,
  channel: Channel | "all",
  at: string,
  secret?: string,
) {
  await bumpOptOut(repo, key.contactState(customerId), channel, at);
  if (!secret) return;
  const customer = await getCustomer(repo, customerId);
  if (!customer) return;
  for (const ch of channel === "all" ? (["sms", "email"] as const) : [channel]) {
    const address = addressOf(customer, ch);
    if (address) await bumpOptOut(repo, addressKey(secret, ch, address), ch, at);
  }
}

/**
 * An RM reported the customer's phone number wrong: their contact state keeps an HMAC of that number, so
 * the next SMS and RM phone task decisions exclude it (`wrong_number`) until an import brings another
 * number. The version moves too, so a send that judged the item before loses its slot write and re-reads.
 * False when the customer has no phone on record (nothing to mark).
 */
export async function markPhoneWrong(repo: Repo, secret: string, customerId: string, at: string) {
  const customer = await getCustomer(repo, customerId);
  if (!customer?.phone) return false;
  await repo.ddb.send(
    new UpdateCommand({
      TableName: repo.table,
      Key: key.contactState(customerId),
      UpdateExpression: "SET wrongPhone = :w ADD ver :one",
      ExpressionAttributeValues: { ":w": { h: phoneMark(secret, customer.phone), at }, ":one": 1 },
    }),
  );
  return true;
}

/** A holdout member is remembered on their contact state: they get no send to attribute a conversion to. */
export async function recordHoldout(
  repo: Repo,
  customerId: string,
  touch: { c: string; at: string; pb?: string },
) {
  await repo.ddb.send(
    new UpdateCommand({
      TableName: repo.table,
      Key: key.contactState(customerId),
      UpdateExpression: "SET held = list_append(if_not_exists(held, :none), :h)",
      ExpressionAttributeValues: { ":none": [], ":h": [touch] },
    }),
  );
}

type Recent = NonNullable<ContactState["recent"]>[number] & { cu?: string };

interface SlotTarget {
  itemKey: Record<string, string>;
  /** Entries that are this send's own (a retry or a redelivery finds them and takes no second slot). */
  own: (r: Recent) => boolean;
  known?: ContactItem;
}

export type GateOutcome = "ok" | "opted_out" | "frequency_capped";

/**
 * Takes this send's slot on the customer's item and then on its address's item, each conditional on
 * the version it judged (opt-out and caps re-judged on every conflict). On a refusal, a slot already
 * taken is given back. Only marketing channels have slots. A transactional send (the answer to the
 * customer's own message) takes no slot and is judged on no cap, but its opt-out check is the same
 * write conditional on the version: an opt-out stored before it wins, as for any send.
 */
export async function takeSendSlots(
  repo: Repo,
  secret: string,
  send: { customer: Customer; campaignId: string; channel: Channel; transactional?: boolean },
  ctx: DecideContext,
  now: Date,
  known: { customer?: ContactItem; address?: ContactItem },
): Promise<GateOutcome> {
  if (!MARKETING_CHANNELS.has(send.channel)) return "ok";
  const targets = slotTargets(secret, send, known);
  const taken: SlotTarget[] = [];
  for (const target of targets) {
    const outcome = await takeSlot(repo, target, send, ctx, now);
    if (outcome !== "ok") {
      for (const t of taken) await giveBack(repo, t);
      return outcome;
    }
    taken.push(target);
  }
  return "ok";
}

/** Gives this send's slots back (a send deferred after it took them: it was not made today). */
export async function releaseSendSlots(
  repo: Repo,
  secret: string,
  send: { customer: Customer; campaignId: string; channel: Channel },
) {
  if (!MARKETING_CHANNELS.has(send.channel)) return;
  for (const t of slotTargets(secret, send, {})) await giveBack(repo, t);
}

function slotTargets(
  secret: string,
  send: { customer: Customer; campaignId: string; channel: Channel },
  known: { customer?: ContactItem; address?: ContactItem },
): SlotTarget[] {
  const { customer, campaignId, channel } = send;
  const targets: SlotTarget[] = [
    {
      itemKey: key.contactState(customer.customerId),
      own: (r) => r.c === campaignId && r.ch === channel,
      known: known.customer,
    },
  ];
  const address = addressOf(customer, channel);
  if (address)
    targets.push({
      itemKey: addressKey(secret, channel, address),
      // On a shared address another customer's send of the same campaign is not ours.
      own: (r) =>
        r.c === campaignId && r.ch === channel && (r.cu ?? customer.customerId) === customer.customerId,
      known: known.address,
    });
  return targets;
}

/** A contact item, strongly consistent (empty when there is none yet). */
export async function readContact(repo: Repo, itemKey: Record<string, string>): Promise<ContactItem> {
  const out = await repo.ddb.send(
    new GetCommand({ TableName: repo.table, Key: itemKey, ConsistentRead: true }),
  );
  return (out.Item ?? {}) as ContactItem;
}

/** Writes `recent` (or only re-asserts the version) if nothing wrote the item since it was read. */
function writeIfUnchanged(
  repo: Repo,
  itemKey: Record<string, string>,
  state: ContactItem,
  recent?: Recent[],
) {
  return updateAlone(repo, unchangedWrite(itemKey, state, recent));
}

function unchangedWrite(
  itemKey: Record<string, string>,
  state: ContactItem,
  recent?: Recent[],
): UpdateParams {
  return {
    Key: itemKey,
    UpdateExpression: recent ? "SET recent = :recent, ver = :next" : "SET ver = :next",
    ConditionExpression: state.ver === undefined ? "attribute_not_exists(ver)" : "ver = :ver",
    ExpressionAttributeValues: {
      ...(recent ? { ":recent": recent } : {}),
      ":next": (state.ver ?? 0) + 1,
      ...(state.ver === undefined ? {} : { ":ver": state.ver }),
    },
  };
}

/**
 * This send's gate judged on a state read: refused (opted out, capped), or ok with the write that
 * takes the slot (or, for a transactional send or a slot already ours, re-asserts the version) only if
 * the item is still as read.
 */
function judgeSlot(
  target: SlotTarget,
  state: ContactItem,
  send: { customer: Customer; campaignId: string; channel: Channel; transactional?: boolean },
  ctx: DecideContext,
  now: Date,
): { outcome: GateOutcome; update?: UpdateParams } {
  if (optedOut(state, send.channel)) return { outcome: "opted_out" };
  if (send.transactional) return { outcome: "ok", update: unchangedWrite(target.itemKey, state) };
  const keepFrom = now.getTime() - Math.max(ctx.config.caps.rollingDays, 35) * 86_400_000;
  const recent = (state.recent ?? []) as Recent[];
  const mine = recent.some(target.own);
  if (!mine && capReached(state, send.channel, now, ctx, (r) => target.own(r as Recent)))
    return { outcome: "frequency_capped" };
  // A slot already ours (a retry) is re-asserted, so an opt-out stored since still wins.
  const next = mine
    ? undefined
    : [
        ...recent.filter((r) => Date.parse(r.at) >= keepFrom),
        {
          at: now.toISOString(),
          ch: send.channel,
          c: send.campaignId,
          pb: ctx.campaign.playbook,
          cu: send.customer.customerId,
        },
      ];
  return { outcome: "ok", update: unchangedWrite(target.itemKey, state, next) };
}

/**
 * The gate of a send judged on the states read with its message, as writes for a transaction that
 * claims the message's recipients together: refused, or ok with one conditional write per contact
 * item (none for a channel without slots). Applied, they are exactly what takeSendSlots would write
 * on those states; a transaction cancelled by a changed item falls back to takeSendSlots, which
 * re-reads.
 */
export function sendSlotWrites(
  secret: string,
  send: { customer: Customer; campaignId: string; channel: Channel; transactional?: boolean },
  ctx: DecideContext,
  now: Date,
  known: { customer?: ContactItem; address?: ContactItem },
): { outcome: GateOutcome; updates: UpdateParams[] } {
  if (!MARKETING_CHANNELS.has(send.channel)) return { outcome: "ok", updates: [] };
  const updates: UpdateParams[] = [];
  for (const target of slotTargets(secret, send, known)) {
    const judged = judgeSlot(target, target.known ?? {}, send, ctx, now);
    if (judged.outcome !== "ok") return { outcome: judged.outcome, updates: [] };
    updates.push(judged.update!);
  }
  return { outcome: "ok", updates };
}

async function takeSlot(
  repo: Repo,
  target: SlotTarget,
  send: { customer: Customer; campaignId: string; channel: Channel; transactional?: boolean },
  ctx: DecideContext,
  now: Date,
): Promise<GateOutcome> {
  for (let attempt = 0; attempt < 8; attempt++) {
    // The state read with the message serves the first attempt; a lost race re-reads it.
    const state = attempt === 0 && target.known ? target.known : await readContact(repo, target.itemKey);
    const judged = judgeSlot(target, state, send, ctx, now);
    if (judged.outcome !== "ok") return judged.outcome;
    if (await updateAlone(repo, judged.update!)) return "ok";
  }
  const contention = new Error(`cap slot contention for ${send.customer.customerId}`);
  contention.name = "ConditionContentionError";
  throw contention;
}

async function giveBack(repo: Repo, target: SlotTarget) {
  for (let attempt = 0; attempt < 8; attempt++) {
    const state = await readContact(repo, target.itemKey);
    const recent = (state.recent ?? []) as Recent[];
    if (!recent.some(target.own)) return;
    if (
      await writeIfUnchanged(
        repo,
        target.itemKey,
        state,
        recent.filter((r) => !target.own(r)),
      )
    )
      return;
  }
}
