import { Duration } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import type { Construct } from "constructs";

export interface LaunchFunctions {
  validate: IFunction;
  decidePage: IFunction;
  awaitDispatch: IFunction;
  finalize: IFunction;
}

/** Errors worth retrying: Lambda's own transient failures and our throttling/contention errors. */
const TRANSIENT = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
  "ThrottlingError",
  "ConditionContentionError",
];

/**
 * The launch workflow. Payloads carry cursors and counts, never recipients: the Map runs over
 * tier×shard tasks (≤ tiers × shards items) and each iteration is a loop of pages of ≤1,000
 * customers, so a 1M-recipient launch is ~1,000 page calls, far below 25,000 history events.
 * JSONPath only, inline Map and payloadResponseOnly invokes, so the embedded interpreter runs
 * exactly this ASL.
 */
export function launchDefinition(
  scope: Construct,
  fns: LaunchFunctions,
  options: { pollSeconds?: number } = {},
) {
  const invoke = (id: string, fn: IFunction, resultPath?: string) => {
    const task = new tasks.LambdaInvoke(scope, id, {
      lambdaFunction: fn,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      ...(resultPath ? { resultPath } : {}),
    });
    task.addRetry({
      errors: TRANSIENT,
      interval: Duration.seconds(1),
      backoffRate: 2,
      maxAttempts: 6,
      jitterStrategy: sfn.JitterType.FULL,
    });
    return task;
  };

  const failed = new sfn.Fail(scope, "LaunchFailed", {
    causePath: "$.error.Cause",
    errorPath: "$.error.Error",
  });
  // The failure summary goes beside the error so the Fail state can still report the original cause.
  const markFailed = invoke("MarkFailed", fns.finalize, "$.final").next(failed);
  const catchAll = (state: tasks.LambdaInvoke) =>
    state.addCatch(
      new sfn.Pass(scope, `${state.id}Failed`, {
        parameters: { "campaignId.$": "$.campaignId", failed: true, "error.$": "$.error" },
      }).next(markFailed),
      { errors: ["States.ALL"], resultPath: "$.error" },
    );

  const validate = catchAll(invoke("Validate", fns.validate));

  const decidePage = invoke("DecidePage", fns.decidePage);
  const pageLoop = decidePage.next(
    new sfn.Choice(scope, "MorePages?")
      .when(sfn.Condition.booleanEquals("$.done", true), new sfn.Succeed(scope, "ShardDone"))
      .otherwise(decidePage),
  );
  const decideShards = new sfn.Map(scope, "DecideShards", {
    itemsPath: "$.tasks",
    maxConcurrency: 4,
    itemSelector: {
      "campaignId.$": "$.campaignId",
      "at.$": "$.at",
      "task.$": "$$.Map.Item.Value",
    },
    resultSelector: { "pages.$": "$[*].pages" },
    resultPath: "$.decided",
  });
  decideShards.itemProcessor(pageLoop);
  decideShards.addCatch(
    new sfn.Pass(scope, "DecideShardsFailed", {
      parameters: { "campaignId.$": "$.campaignId", failed: true, "error.$": "$.error" },
    }).next(markFailed),
    {
      errors: ["States.ALL"],
      resultPath: "$.error",
    },
  );

  const awaitDispatch = catchAll(invoke("AwaitDispatch", fns.awaitDispatch, "$.dispatch"));
  const wait = new sfn.Wait(scope, "WaitForWorkers", {
    time: sfn.WaitTime.duration(Duration.seconds(options.pollSeconds ?? 10)),
  });
  const finalize = catchAll(invoke("Finalize", fns.finalize));

  return validate
    .next(decideShards)
    .next(awaitDispatch)
    .next(
      new sfn.Choice(scope, "AllTerminal?")
        .when(sfn.Condition.numberGreaterThan("$.dispatch.inFlight", 0), wait.next(awaitDispatch))
        .otherwise(finalize.next(new sfn.Succeed(scope, "Launched"))),
    );
}
