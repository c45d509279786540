import { Annotations, App, Tags, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { DeploymentError } from "./deployment.ts";
import { type EnvSettings, settingsFor } from "./settings.ts";
import { buildStacks } from "./stacks/index.ts";

const app = new App();
let settings: EnvSettings;
try {
  settings = settingsFor(app.node.tryGetContext("env"), (k) => app.node.tryGetContext(k));
} catch (err) {
  // Every problem on its own line, without a stack trace: this is an operator's input error.
  if (err instanceof DeploymentError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
const stacks = buildStacks(app, settings);
for (const key of settings.deployment.placeholders)
  Annotations.of(stacks.data).addWarningV2(
    `tiercast:placeholder:${key}`,
    `${key} is a placeholder: dev deploys, but nothing it depends on works until you set -c ${key}=…`,
  );
Tags.of(app).add("app", "tiercast");
Tags.of(app).add("env", settings.name);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
