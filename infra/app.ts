import { App, Tags, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { settingsFor } from "./settings.ts";
import { buildStacks } from "./stacks/index.ts";

const app = new App();
const settings = settingsFor(app.node.tryGetContext("env"), app.node.tryGetContext("alarmEmail"));
buildStacks(app, settings);
Tags.of(app).add("app", "tiercast");
Tags.of(app).add("env", settings.name);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
