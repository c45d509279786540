import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { type App, lambdaApp, onAws } from "#functions/app.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import { type AuditWriteAnswer, writeAudit } from "./writer.ts";

/**
 * The AuditWriter function (invoked synchronously by the API, the scheduler and Finalize): the only
 * role that may put AUDIT# keys. It appends in process (its app has no writer of its own) and
 * anchors the new head in its own log.
 */
export function auditWriterHandler(app: () => App) {
  return middy(async (event: unknown): Promise<AuditWriteAnswer> => {
    const answer = await writeAudit(app().auditDeps(), event);
    if (!answer.ok) logger.warn("audit entry refused", { error: answer.error });
    return answer;
  })
    .use(injectLambdaContext(logger))
    .use(loadSecret(() => app().secret));
}

export const handler = onAws(auditWriterHandler(lambdaApp));
