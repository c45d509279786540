import type { App } from "aws-cdk-lib";
import { DEFAULT_SCHEMES } from "../../functions/platform/config.ts";
import { type EnvSettings, parameterName } from "../settings.ts";
import { ApiStack } from "./api-stack.ts";
import { AuditStack } from "./audit-stack.ts";
import { DataStack } from "./data-stack.ts";
import { ImportStack } from "./import-stack.ts";
import { MessagingStack } from "./messaging-stack.ts";
import { ObservabilityStack } from "./observability-stack.ts";
import { SchedulerStack } from "./scheduler-stack.ts";
import { WebStack } from "./web-stack.ts";
import { WorkflowStack } from "./workflow-stack.ts";

/** data → audit → messaging → workflow → scheduler → imports → api → web, and observability over all of them. */
export function buildStacks(app: App, settings: EnvSettings) {
  const prefix = `Tiercast-${settings.name}`;
  // A given region pins every stack to it (and its partition: aws-cn for China); otherwise region-agnostic.
  const env = settings.region ? { region: settings.region } : undefined;
  const data = new DataStack(app, `${prefix}-Data`, { settings, env });
  const refs = {
    table: data.table,
    key: data.key,
    secret: data.secret,
    parameterName: parameterName(settings, "config"),
  };
  const audit = new AuditStack(app, `${prefix}-Audit`, { settings, env, data: refs });
  const messaging = new MessagingStack(app, `${prefix}-Messaging`, { settings, env });
  const workflow = new WorkflowStack(app, `${prefix}-Workflow`, {
    settings,
    env,
    data: refs,
    auditWriter: audit.writer,
    queues: messaging.queues,
    receipts: messaging.receipts,
    ...(messaging.sesConfigurationSetName ? { sesConfigurationSet: messaging.sesConfigurationSetName } : {}),
    ...(messaging.smsConfigurationSetName ? { smsConfigurationSet: messaging.smsConfigurationSetName } : {}),
  });
  const scheduler = new SchedulerStack(app, `${prefix}-Scheduler`, {
    settings,
    env,
    data: refs,
    stateMachine: workflow.stateMachine,
    auditWriter: audit.writer,
  });
  const imports = new ImportStack(app, `${prefix}-Imports`, { settings, env, data: refs });
  const api = new ApiStack(app, `${prefix}-Api`, {
    settings,
    env,
    data: refs,
    auditWriter: audit.writer,
    stateMachine: workflow.stateMachine,
    scheduleGroupName: scheduler.group.scheduleGroupName,
    schedulerRole: scheduler.invokeRole,
    schedulerFunction: scheduler.fn,
    imports: {
      bucket: imports.bucket,
      queue: imports.queue,
      dryRunQueue: imports.dryRunQueue,
      apiPolicy: imports.apiPolicy,
    },
  });
  const web = new WebStack(app, `${prefix}-Web`, {
    settings,
    env,
    api: api.api,
    signIn: { ...api.signIn },
    originVerify: api.originVerify,
  });
  const observability = new ObservabilityStack(app, `${prefix}-Observability`, {
    settings,
    env,
    queues: messaging.queues,
    dlqs: messaging.dlqs,
    receiptsDlq: messaging.receiptsDlq,
    imports: { queue: imports.queue, dlq: imports.dlq, dryRunDlq: imports.dryRunDlq },
    stateMachine: workflow.stateMachine,
    api: api.api,
    tiers: [...new Set(Object.values(DEFAULT_SCHEMES).flatMap((s) => s.tiers.map((t) => t.name)))],
  });
  return { data, audit, messaging, workflow, scheduler, imports, api, web, observability };
}
