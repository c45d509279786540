import { App, Stack } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { LOCAL_ARN_PREFIX, LOCAL_SHARD_MACHINE_ARN } from "./arn.ts";
import { type LaunchFunctions, launchDefinition, shardDefinition } from "./definition.ts";

export { LOCAL_ARN_PREFIX, LOCAL_SHARD_MACHINE_ARN };

function render(
  build: (stack: Stack, fn: (name: keyof LaunchFunctions) => lambda.IFunction) => sfn.IChainable,
) {
  const stack = new Stack(new App(), "AslOnly");
  const fn = (name: keyof LaunchFunctions) =>
    lambda.Function.fromFunctionArn(stack, name, `${LOCAL_ARN_PREFIX}${name}`);
  const machine = new sfn.StateMachine(stack, "Machine", {
    definitionBody: sfn.DefinitionBody.fromChainable(build(stack, fn)),
  });
  const rendered = stack.resolve((machine.node.defaultChild as sfn.CfnStateMachine).definitionString);
  const text = typeof rendered === "string" ? rendered : joinTokens(rendered);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Renders the launch workflow's ASL exactly as CDK synthesizes it, with placeholder ARNs (one per function). */
export function synthesizeLaunchAsl(): Record<string, unknown> {
  return render((stack, fn) =>
    launchDefinition(
      stack,
      {
        validate: fn("validate"),
        decidePage: fn("decidePage"),
        awaitDispatch: fn("awaitDispatch"),
        finalize: fn("finalize"),
      },
      { shardMachine: sfn.StateMachine.fromStateMachineArn(stack, "Shard", LOCAL_SHARD_MACHINE_ARN) },
    ),
  );
}

/** The shard workflow's ASL (the child execution the launch starts per chunk of a tier×shard task). */
export function synthesizeShardAsl(): Record<string, unknown> {
  return render((stack, fn) => shardDefinition(stack, { decidePage: fn("decidePage") }));
}

function joinTokens(value: unknown): string {
  const join = (value as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
  if (!join) throw new Error("unexpected unresolved token in the state machine definition");
  // The partition is the only token a placeholder ARN leaves (startExecution.sync's resource): "aws".
  const partition = (part: unknown) => (part as { Ref?: string }).Ref === "AWS::Partition";
  return join[1]
    .map((part) => (typeof part === "string" ? part : partition(part) ? "aws" : JSON.stringify(part)))
    .join(join[0]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { writeFileSync } = await import("node:fs");
  for (const [file, asl] of [
    ["./launch-campaign.asl.json", synthesizeLaunchAsl()],
    ["./launch-shard.asl.json", synthesizeShardAsl()],
  ] as const) {
    const path = new URL(file, import.meta.url);
    writeFileSync(path, `${JSON.stringify(asl, null, 2)}\n`);
    process.stdout.write(`wrote ${path.pathname}\n`);
  }
}
