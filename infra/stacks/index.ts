import type { App } from "aws-cdk-lib";
import { DEFAULT_SCHEMES } from "../../functions/shared/config.ts";
import type { EnvSettings } from "../settings.ts";
import { ApiStack } from "./api-stack.ts";
import { DataStack } from "./data-stack.ts";
import { MessagingStack } from "./messaging-stack.ts";
import { ObservabilityStack } from "./observability-stack.ts";
import { SchedulerStack } from "./scheduler-stack.ts";
import { WebStack } from "./web-stack.ts";
import { WorkflowStack } from "./workflow-stack.ts";

/** data → messaging → workflow → scheduler → api → web, and observability over all of them. */
export function buildStacks(app: App, settings: EnvSettings) {
  const prefix = `Tiercast-${settings.name}`;
  const data = new DataStack(app, `${prefix}-Data`, { settings });
  const refs = { table: data.table, key: data.key, secret: data.secret };
  const messaging = new MessagingStack(app, `${prefix}-Messaging`, { settings, key: data.key });
  const workflow = new WorkflowStack(app, `${prefix}-Workflow`, {
    settings,
    data: refs,
    queues: messaging.queues,
    receipts: messaging.receipts,
    sesConfigurationSet: messaging.sesConfigurationSet.configurationSetName,
    smsConfigurationSet: messaging.smsConfigurationSetName,
  });
  const scheduler = new SchedulerStack(app, `${prefix}-Scheduler`, {
    settings,
    data: refs,
    stateMachine: workflow.stateMachine,
  });
  const api = new ApiStack(app, `${prefix}-Api`, {
    settings,
    data: refs,
    stateMachine: workflow.stateMachine,
    scheduleGroupName: scheduler.group.scheduleGroupName,
    schedulerRole: scheduler.invokeRole,
    schedulerFunction: scheduler.fn,
  });
  const web = new WebStack(app, `${prefix}-Web`, { settings, api: api.api });
  const observability = new ObservabilityStack(app, `${prefix}-Observability`, {
    settings,
    key: data.key,
    queues: messaging.queues,
    dlqs: messaging.dlqs,
    receiptsDlq: messaging.receiptsDlq,
    stateMachine: workflow.stateMachine,
    api: api.api,
    tiers: [...new Set(Object.values(DEFAULT_SCHEMES).flatMap((s) => s.tiers.map((t) => t.name)))],
  });
  return { data, messaging, workflow, scheduler, api, web, observability };
}
