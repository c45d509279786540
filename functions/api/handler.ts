import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { actorFromClaims } from "#functions/access/users.ts";
import { type App, lambdaApp, onAws } from "#functions/app.ts";
import { handleTracking } from "#functions/track/core.ts";
import { logger } from "#platform/logger.ts";
import { loadSecret } from "#platform/secret.ts";
import type { ApiRequest } from "./http.ts";
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

/** The whole HTTP surface on AWS: /api/* (Cognito), and the public tracking redirect, pixel, unsubscribe and SMS webhook. */
export function apiHandler(app: () => App) {
  return middy(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const req = toRequest(event);
    // API Gateway's Cognito authorizer has verified the JWT; its claims carry the role and branch.
    const d = app().awsApiDeps(async (r) => (r.claims ? actorFromClaims(r.claims) : undefined));
    const out = req.path.startsWith("/api/")
      ? await handleApi(req, d)
      : ((await handleTracking(req, d)) ?? {
          status: 404,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ error: "not_found", message: `no route ${req.path}` }),
        });
    return {
      statusCode: out.status,
      headers: { ...out.headers, "x-content-type-options": "nosniff" },
      body: out.body,
      isBase64Encoded: out.isBase64Encoded ?? false,
    };
  })
    .use(injectLambdaContext(logger))
    .use(loadSecret(() => app().secret));
}

export const handler = onAws(apiHandler(lambdaApp));
