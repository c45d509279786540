import type { App } from "aws-cdk-lib";
import type { EnvSettings } from "../settings.ts";
import { DataStack } from "./data-stack.ts";

export function buildStacks(app: App, settings: EnvSettings) {
  const prefix = `Tiercast-${settings.name}`;
  const data = new DataStack(app, `${prefix}-Data`, { settings });
  return { data };
}
