import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from "aws-lambda";
import { readEnv } from "#platform/env.ts";
import { logger } from "#platform/logger.ts";
import { contextOf, oidcVerifier } from "./oidc.ts";

let verify: ReturnType<typeof oidcVerifier> | undefined;

/**
 * API Gateway TOKEN authorizer for /api/* where there is no Cognito (AWS China): a valid bank-IdP
 * token is allowed on every method of this stage (so API Gateway may cache the answer per token),
 * with its claims as context; anything else is 401.
 */
export async function handler(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const { OIDC_ISSUER: issuer, OIDC_AUDIENCE: audience, OIDC_JWKS_URI: jwksUri } = readEnv();
  if (!issuer || !audience) throw new Error("OIDC_ISSUER and OIDC_AUDIENCE must be set");
  verify ??= oidcVerifier({
    issuer,
    audience,
    ...(jwksUri ? { jwksUri } : {}),
  });
  const token = /^Bearer (\S+)$/i.exec(event.authorizationToken ?? "")?.[1];
  let payload: Awaited<ReturnType<typeof verify>>;
  try {
    if (!token) throw new Error("no bearer token");
    payload = await verify(token);
  } catch (err) {
    logger.info("token refused", { reason: (err as Error).message });
    // API Gateway answers 401 for exactly this message.
    throw new Error("Unauthorized");
  }
  const [arn, stage] = event.methodArn.split("/");
  return {
    principalId: String(payload.sub),
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: `${arn}/${stage}/*/*` }],
    },
    context: contextOf(payload),
  };
}
