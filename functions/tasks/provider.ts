import { findCampaign } from "#functions/campaign/record.ts";
import { localTime } from "#functions/campaign/time.ts";
import { readContact } from "#functions/contact/gate.ts";
import type { Customer } from "#functions/customers/record.ts";
import { getCustomer } from "#functions/customers/store.ts";
import type { Provider } from "#functions/dispatch/core.ts";
import { PRIMARY_SCHEME, type TiercastConfig } from "#platform/config.ts";
import { InputError, ProviderRetryableError } from "#platform/errors.ts";
import type { Repo } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import { createTask, type Task, type TaskContext, type TaskPriority, taskIdOf } from "./store.ts";

/** The end of the local day `at` falls in: a task released today is today's work (RM capacity is per day). */
export function endOfLocalDay(at: Date, timeZone: string): string {
  const { date, offsetMs } = localTime(at, timeZone);
  return new Date(Date.parse(`${date}T23:59:59.999Z`) - offsetMs).toISOString();
}

/** `due`: a day (due by its end in the bank's zone) or an instant; anything else is the client's error. */
export function dueByOf(value: string, timeZone: string): string {
  const noon = new Date(`${value}T12:00:00Z`);
  if (
    /^\d{4}-\d{2}-\d{2}$/.test(value) &&
    !Number.isNaN(noon.getTime()) &&
    noon.toISOString().startsWith(value)
  )
    return endOfLocalDay(noon, timeZone);
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value)))
    return new Date(value).toISOString();
  throw new InputError(`due must be a date (YYYY-MM-DD) or an ISO instant, got "${value}"`);
}

/** The tier's place in its scheme: the two highest tiers are high priority, the next normal, the rest low. */
function priorityOf(config: TiercastConfig, scheme: string, tier: string): TaskPriority {
  const tiers = config.tierSchemes[scheme]?.tiers ?? [];
  const fromTop = tiers.length - 1 - tiers.findIndex((t) => t.name === tier);
  if (fromTop > tiers.length - 1) return "normal";
  return fromTop <= 1 ? "high" : fromTop === 2 ? "normal" : "low";
}

function aumBand(config: TiercastConfig, scheme: string, tier: string): TaskContext["aumBand"] {
  const tiers = config.tierSchemes[scheme]?.tiers ?? [];
  const i = tiers.findIndex((t) => t.name === tier);
  if (i < 0) return undefined;
  const next = tiers[i + 1];
  return { min: tiers[i]!.min, ...(next ? { max: next.min } : {}) };
}

/** The task as the worker makes it: the customer's context now, and the campaign's rendered script. */
export async function taskFor(
  repo: Repo,
  config: TiercastConfig,
  input: { campaignId: string; customerId: string; rmId: string; script?: string },
  now: Date,
): Promise<Task> {
  const [customer, record, state] = await Promise.all([
    getCustomer(repo, input.customerId),
    findCampaign(repo, input.campaignId),
    readContact(repo, key.contactState(input.customerId)),
  ]);
  const scheme = customer ? PRIMARY_SCHEME[customer.kind] : "retail";
  const tier = (customer as Customer | undefined)?.tier ?? "unknown";
  const last = [...(state.recent ?? [])].sort((a, b) => b.at.localeCompare(a.at))[0];
  return {
    taskId: taskIdOf(input.campaignId, input.customerId),
    rmId: input.rmId,
    customerId: input.customerId,
    campaignId: input.campaignId,
    ...(customer?.branchId ? { branchId: customer.branchId } : {}),
    status: "open",
    dueAt: endOfLocalDay(now, config.quietHours.timeZone),
    priority: priorityOf(config, scheme, tier),
    context: {
      tier,
      scheme,
      ...(customer ? { aumBand: aumBand(config, scheme, tier) } : {}),
      ...(last ? { lastContactAt: last.at, lastContactChannel: last.ch } : {}),
      ...(customer?.products?.length ? { products: customer.products } : {}),
      ...(record?.campaign.name ? { campaignName: record.campaign.name } : {}),
      ...(record ? { playbook: record.campaign.playbook } : {}),
      ...(input.script ? { script: input.script } : {}),
    },
    attempts: 0,
    createdAt: now.toISOString(),
  };
}

/** RM call tasks: the channel's provider writes a task through its owner, once per send key (never an unknown outcome). */
export function rmTaskProvider(repo: Repo, config: TiercastConfig, now: () => Date): Provider {
  return {
    async send(message, context) {
      try {
        const task = await taskFor(
          repo,
          config,
          {
            campaignId: context.campaignId,
            customerId: context.customerId,
            rmId: message.to,
            ...(message.text ? { script: message.text } : {}),
          },
          now(),
        );
        await createTask(repo, task, config.shards);
        return { messageId: `rm:${task.taskId}` };
      } catch (err) {
        throw new ProviderRetryableError((err as Error).message);
      }
    },
  };
}
