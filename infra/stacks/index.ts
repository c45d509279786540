import type { App } from "aws-cdk-lib";
import type { EnvSettings } from "../settings.ts";
import { DataStack } from "./data-stack.ts";
import { MessagingStack } from "./messaging-stack.ts";
import { WorkflowStack } from "./workflow-stack.ts";

export function buildStacks(app: App, settings: EnvSettings) {
  const prefix = `Tiercast-${settings.name}`;
  const data = new DataStack(app, `${prefix}-Data`, { settings });
  const messaging = new MessagingStack(app, `${prefix}-Messaging`, { settings });
  const workflow = new WorkflowStack(app, `${prefix}-Workflow`, {
    settings,
    table: data.table,
    key: data.key,
    queues: messaging.queues,
    dlqs: messaging.dlqs,
  });
  return { data, messaging, workflow };
}
