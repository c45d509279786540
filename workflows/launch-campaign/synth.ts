import { App, Stack } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { LOCAL_ARN_PREFIX } from "./arn.ts";
import { type LaunchFunctions, launchDefinition } from "./definition.ts";

export { LOCAL_ARN_PREFIX };

/** Renders the workflow's ASL exactly as CDK synthesizes it, with placeholder Lambda ARNs (one per function). */
export function synthesizeLaunchAsl(): Record<string, unknown> {
  const stack = new Stack(new App(), "AslOnly");
  const fn = (name: keyof LaunchFunctions) =>
    lambda.Function.fromFunctionArn(stack, name, `${LOCAL_ARN_PREFIX}${name}`);
  const chain = launchDefinition(stack, {
    validate: fn("validate"),
    decidePage: fn("decidePage"),
    awaitDispatch: fn("awaitDispatch"),
    finalize: fn("finalize"),
  });
  const machine = new sfn.StateMachine(stack, "Launch", {
    definitionBody: sfn.DefinitionBody.fromChainable(chain),
  });
  const rendered = stack.resolve((machine.node.defaultChild as sfn.CfnStateMachine).definitionString);
  const text = typeof rendered === "string" ? rendered : joinTokens(rendered);
  return JSON.parse(text) as Record<string, unknown>;
}

function joinTokens(value: unknown): string {
  const join = (value as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
  if (!join) throw new Error("unexpected unresolved token in the state machine definition");
  return join[1].map((part) => (typeof part === "string" ? part : JSON.stringify(part))).join(join[0]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { writeFileSync } = await import("node:fs");
  const path = new URL("./launch-campaign.asl.json", import.meta.url);
  writeFileSync(path, `${JSON.stringify(synthesizeLaunchAsl(), null, 2)}\n`);
  process.stdout.write(`wrote ${path.pathname}\n`);
}
