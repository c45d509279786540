import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { actorFromClaims } from "#functions/access/users.ts";
import { toRequest } from "#functions/api/handler.ts";

// A bank IdP on 127.0.0.1: its discovery document and key set, as the authorizer fetches them.
let server: Server;
let issuer: string;
type Sign = (
  claims: Record<string, unknown>,
  opts?: { aud?: string; exp?: string; iss?: string },
) => Promise<string>;
let sign: Sign;
let other: Sign;

beforeAll(async () => {
  const idp = await generateKeyPair("RS256");
  const stranger = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(idp.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  server = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/openid-configuration")
      return res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
    if (req.url === "/keys") return res.end(JSON.stringify({ keys: [jwk] }));
    res.statusCode = 404;
    res.end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signer =
    (key: Parameters<SignJWT["sign"]>[0]): Sign =>
    (claims, opts = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setIssuer(opts.iss ?? issuer)
        .setAudience(opts.aud ?? "tiercast-console")
        .setIssuedAt()
        .setExpirationTime(opts.exp ?? "10m")
        .sign(key);
  sign = signer(idp.privateKey);
  other = signer(stranger.privateKey);
  vi.stubEnv("OIDC_ISSUER", issuer);
  vi.stubEnv("OIDC_AUDIENCE", "tiercast-console");
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise<void>((r) => server.close(() => r()));
});

const methodArn = "arn:aws-cn:execute-api:cn-north-1:111122223333:abc123/v1/GET/api/campaigns";
const authorize = async (token: string) => {
  // The environment is read once per process (platform/env.ts): fresh modules see the stubbed one.
  vi.resetModules();
  const { handler } = await import("#functions/auth/handler.ts");
  return handler({ type: "TOKEN", methodArn, authorizationToken: `Bearer ${token}` });
};

describe("the OIDC authorizer (AWS China, no Cognito)", () => {
  it("allows a valid token on the whole stage and passes its claims on", async () => {
    const token = await sign({ sub: "u-1", groups: ["staff", "approver"], "custom:branch": "BJ01" });
    const out = await authorize(token);
    expect(out.principalId).toBe("u-1");
    expect(out.policyDocument.Statement).toEqual([
      {
        Action: "execute-api:Invoke",
        Effect: "Allow",
        Resource: "arn:aws-cn:execute-api:cn-north-1:111122223333:abc123/v1/*/*",
      },
    ]);
    expect(out.context).toMatchObject({ sub: "u-1", groups: "staff,approver", "custom:branch": "BJ01" });
  });

  it.each([
    ["signed by another key", () => other({ sub: "u-1", groups: ["admin"] })],
    ["for another audience", () => sign({ sub: "u-1", groups: ["admin"] }, { aud: "someone-else" })],
    ["from another issuer", () => sign({ sub: "u-1", groups: ["admin"] }, { iss: "https://evil.example" })],
    ["expired", () => sign({ sub: "u-1", groups: ["admin"] }, { exp: "-1m" })],
    ["without a sub", () => sign({ groups: ["admin"] })],
  ])("refuses a token %s (401)", async (_what, make) => {
    await expect(authorize(await make())).rejects.toThrow("Unauthorized");
  });

  it("gives the router the actor of the token's sub, with its role and branch", async () => {
    const out = await authorize(await sign({ sub: "u-2", roles: ["marketer"], "custom:branch": "SH02" }));
    const req = toRequest({
      httpMethod: "GET",
      path: "/api/campaigns",
      headers: {},
      requestContext: { authorizer: { ...out.context, principalId: out.principalId } },
    } as never);
    expect(actorFromClaims(req.claims ?? {})).toEqual({ userId: "u-2", role: "marketer", branchId: "SH02" });
  });
});
