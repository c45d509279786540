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

/** The Task resource of a child execution the parent waits for (its output as JSON). */
export const START_CHILD_SYNC = "arn:aws:states:::states:startExecution.sync:2";

/** Errors worth retrying: Lambda's own transient failures and our throttling/contention errors. */
const TRANSIENT = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
  "ThrottlingError",
  "ConditionContentionError",
];

function transientRetry(task: sfn.TaskStateBase) {
  task.addRetry({
    errors: TRANSIENT,
    interval: Duration.seconds(1),
    backoffRate: 2,
    maxAttempts: 6,
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}

function lambdaTask(
  scope: Construct,
  id: string,
  fn: IFunction,
  props: Partial<tasks.LambdaInvokeProps> = {},
) {
  return transientRetry(
    new tasks.LambdaInvoke(scope, id, {
      lambdaFunction: fn,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      ...props,
    }),
  );
}

/**
 * The shard workflow: one child execution decides up to `budget` pages of one tier×shard task and
 * returns its cursor. A page costs 7 history events (a Lambda Task's 5, the Choice's 2), so a budget
 * of 2,000 pages keeps a child near 14,000 events whatever the bank's size; the parent starts the
 * next child with the cursor (continue-as-new, one level down).
 */
export function shardDefinition(scope: Construct, fns: Pick<LaunchFunctions, "decidePage">) {
  const decidePage = lambdaTask(scope, "DecidePage", fns.decidePage);
  return decidePage.next(
    new sfn.Choice(scope, "MorePages?")
      .when(
        sfn.Condition.or(
          sfn.Condition.booleanEquals("$.done", true),
          sfn.Condition.numberLessThanEquals("$.budget", 0),
        ),
        new sfn.Succeed(scope, "ChunkDone"),
      )
      .otherwise(decidePage),
  );
}

/**
 * The launch workflow. Payloads carry cursors and counts, never recipients: the Map runs over
 * tier×shard tasks (≤ tiers × shards items) and each iteration starts one child execution of the
 * shard workflow per `budget` pages (2,000 by default), each named by the launch's run id, the task
 * and the page it starts at: collision-free across tasks and chunks, and new for every launch attempt
 * (the run id is a hash of this execution's name). A chunk costs the parent 8 events whatever its
 * size, so 100M customers (100,000 pages) cost the parent ~1,600 events and no child more than
 * ~14,000. The dispatch poll backs off (AwaitDispatch sets the wait), so a long send costs few events.
 * JSONPath only, inline Map, Lambda and startExecution.sync tasks, so the embedded interpreter runs
 * exactly this ASL.
 */
export function launchDefinition(
  scope: Construct,
  fns: LaunchFunctions,
  options: { shardMachine: sfn.IStateMachine },
) {
  const invoke = (id: string, fn: IFunction, resultPath?: string) =>
    lambdaTask(scope, id, fn, resultPath ? { resultPath } : {}) as tasks.LambdaInvoke;

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

  // The execution's own name makes the run id: a relaunch is a new execution, so new child names.
  const validate = catchAll(
    lambdaTask(scope, "Validate", fns.validate, {
      payload: sfn.TaskInput.fromObject({
        "launch.$": "$",
        "execution.$": "$$.Execution.Name",
      }),
    }) as tasks.LambdaInvoke,
  );

  const runShard = transientRetry(
    new tasks.StepFunctionsStartExecution(scope, "RunShard", {
      stateMachine: options.shardMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      name: sfn.JsonPath.format(
        "{}-{}-{}-{}",
        sfn.JsonPath.stringAt("$.run"),
        sfn.JsonPath.stringAt("$.task.tier"),
        sfn.JsonPath.stringAt("$.task.shard"),
        sfn.JsonPath.stringAt("$.pages"),
      ),
      input: sfn.TaskInput.fromObject({
        "campaignId.$": "$.campaignId",
        "at.$": "$.at",
        "run.$": "$.run",
        "task.$": "$.task",
        "cursor.$": "$.cursor",
        "pages.$": "$.pages",
        "budget.$": "$.budget",
        "chunkBudget.$": "$.budget",
      }),
      associateWithParent: true,
      // The child's output (the last page's cursor and counts) is the iteration's state.
      outputPath: "$.Output",
    }),
  );
  // A chunk's child returns budget 0; the next child gets the full budget again (chunkBudget).
  const shardLoop = runShard.next(
    new sfn.Choice(scope, "ShardDone?")
      .when(sfn.Condition.booleanEquals("$.done", true), new sfn.Succeed(scope, "ShardDecided"))
      .otherwise(
        new sfn.Pass(scope, "NextChunk", {
          parameters: {
            "campaignId.$": "$.campaignId",
            "at.$": "$.at",
            "run.$": "$.run",
            "task.$": "$.task",
            "cursor.$": "$.cursor",
            "pages.$": "$.pages",
            "budget.$": "$.chunkBudget",
          },
        }).next(runShard),
      ),
  );
  const decideShards = new sfn.Map(scope, "DecideShards", {
    itemsPath: "$.tasks",
    maxConcurrency: 4,
    itemSelector: {
      "campaignId.$": "$.campaignId",
      "at.$": "$.at",
      "run.$": "$.run",
      "budget.$": "$.pagesPerExecution",
      "task.$": "$$.Map.Item.Value",
      cursor: "",
      pages: 0,
    },
    resultSelector: { "pages.$": "$[*].pages" },
    resultPath: "$.decided",
  });
  decideShards.itemProcessor(shardLoop);
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
  // AwaitDispatch says how long to wait: short at first, backing off while a long send drains.
  const wait = new sfn.Wait(scope, "WaitForWorkers", {
    time: sfn.WaitTime.secondsPath("$.dispatch.waitSeconds"),
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
