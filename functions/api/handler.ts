import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { actorFromClaims } from "#functions/access/users.ts";
import { logAnchor } from "#functions/audit/anchor.ts";
import { s3Objects } from "#functions/import/objects.ts";
import { parseCron, toEventBridge } from "#functions/schedules/cron.ts";
import { handleTracking } from "#functions/track/core.ts";
import { startExecution } from "#shared/aws-launch.ts";
import { sqsClient } from "#shared/clients.ts";
import { baseDeps } from "#shared/deps.ts";
import { env } from "#shared/env.ts";
import { logger } from "#shared/logger.ts";
import { loadSecret } from "#shared/secret.ts";
import type { ApiDeps, ApiRequest } from "./http.ts";
import { handleApi } from "./router.ts";

/** API Gateway (REST, proxy integration) → the runtime-neutral request the router takes. */
export function toRequest(event: APIGatewayProxyEvent): ApiRequest {
  // A base64 body is binary (a GBK CSV, an .xlsx): keep its bytes; the text view is for JSON routes.
  const rawBody = event.body && event.isBase64Encoded ? Buffer.from(event.body, "base64") : undefined;
  const body = rawBody ? rawBody.toString("utf8") : (event.body ?? "");
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
  // Cognito's authorizer puts the verified claims under `claims`; our OIDC Lambda authorizer (AWS China)
  // puts them in the authorizer context itself.
  const authorizer = event.requestContext?.authorizer as Record<string, unknown> | null | undefined;
  const claims = (authorizer?.claims ?? (authorizer?.sub ? authorizer : undefined)) as
    | Record<string, unknown>
    | undefined;
  return {
    method: event.httpMethod,
    path: event.path,
    query,
    headers,
    body,
    ...(rawBody ? { rawBody } : {}),
    ...(claims ? { claims } : {}),
  };
}

/** Creates, replaces or deletes the EventBridge schedule that fires a Tiercast schedule at its cron. */
async function syncSchedule(scheduleId: string, cron: string | undefined) {
  const e = env();
  if (!e.SCHEDULE_GROUP || !e.SCHEDULER_ROLE_ARN || !e.SCHEDULER_FUNCTION_ARN) return;
  const sch = await import("@aws-sdk/client-scheduler");
  const client = new sch.SchedulerClient({});
  const Name = `tiercast-${scheduleId}`;
  if (!cron) {
    await client
      .send(new sch.DeleteScheduleCommand({ Name, GroupName: e.SCHEDULE_GROUP }))
      .catch((err: Error) => {
        if (err.name !== "ResourceNotFoundException") throw err;
      });
    return;
  }
  const input = {
    Name,
    GroupName: e.SCHEDULE_GROUP,
    ScheduleExpression: toEventBridge(parseCron(cron)),
    ScheduleExpressionTimezone: baseDeps().config.quietHours.timeZone,
    FlexibleTimeWindow: { Mode: "OFF" as const },
    Target: {
      Arn: e.SCHEDULER_FUNCTION_ARN,
      RoleArn: e.SCHEDULER_ROLE_ARN,
      Input: JSON.stringify({ scheduleId }),
      RetryPolicy: { MaximumRetryAttempts: 3 },
    },
  };
  try {
    await client.send(new sch.UpdateScheduleCommand(input));
  } catch (err) {
    if ((err as Error).name !== "ResourceNotFoundException") throw err;
    await client.send(new sch.CreateScheduleCommand(input));
  }
}

/** Import jobs need the import bucket and queue (the worker is functions/import/job-handler.ts). */
function importJobs(): Pick<ApiDeps, "objects" | "startImportJob"> {
  const e = env();
  if (!e.IMPORT_BUCKET) return {};
  return {
    objects: s3Objects(e.IMPORT_BUCKET),
    ...(e.IMPORT_QUEUE_URL
      ? {
          async startImportJob(jobId: string) {
            await sqsClient().send(
              new SendMessageCommand({
                QueueUrl: e.IMPORT_QUEUE_URL,
                MessageBody: JSON.stringify({ jobId }),
              }),
            );
          },
        }
      : {}),
  };
}

function deps(): ApiDeps {
  const base = baseDeps();
  return {
    repo: base.repo,
    config: base.config,
    secret: base.secret,
    now: base.now,
    // API Gateway's authorizer (Cognito, or the OIDC one in AWS China) has verified the JWT; its claims carry the role and branch.
    authenticate: async (req) => (req.claims ? actorFromClaims(req.claims) : undefined),
    startLaunch: startExecution,
    syncSchedule,
    auditAnchor: logAnchor,
    ...importJobs(),
  };
}

/** The whole HTTP surface on AWS: /api/* (Cognito), and the public tracking redirect, pixel, unsubscribe and SMS webhook. */
export const handler = middy(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const req = toRequest(event);
  const d = deps();
  const out = req.path.startsWith("/api/")
    ? await handleApi(req, d)
    : ((await handleTracking(req, d)) ?? {
        status: 404,
        headers: { "content-type": "application/json" },
        body: '{"error":"not_found"}',
      });
  return {
    statusCode: out.status,
    headers: { ...out.headers, "x-content-type-options": "nosniff" },
    body: out.body,
    isBase64Encoded: out.isBase64Encoded ?? false,
  };
})
  .use(injectLambdaContext(logger))
  .use(loadSecret());
