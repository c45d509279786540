import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";

export interface OidcSettings {
  /** The IdP's issuer, exactly as its tokens carry it in `iss`. */
  issuer: string;
  /** The client id its tokens carry in `aud`. */
  audience: string;
  /** Its key set; without it, read from the issuer's discovery document. */
  jwksUri?: string;
}

/** Claims an API Gateway Lambda authorizer may pass on: strings only (its context takes no arrays). */
export type AuthorizerContext = Record<string, string>;

/**
 * Verifies the bank IdP's OIDC tokens (AWS China has no Cognito): signature against the IdP's keys,
 * issuer, audience, expiry. The key set is fetched once per container; a failed fetch is not kept.
 */
export function oidcVerifier(settings: OidcSettings) {
  let keys: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const keySet = () => {
    keys ??= (async () => {
      let uri = settings.jwksUri;
      if (!uri) {
        const discovery = `${settings.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
        const res = await fetch(discovery, { signal: AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`OIDC discovery ${discovery}: HTTP ${res.status}`);
        uri = String(((await res.json()) as { jwks_uri?: unknown }).jwks_uri ?? "");
        if (!uri) throw new Error(`OIDC discovery ${discovery}: no jwks_uri`);
      }
      return createRemoteJWKSet(new URL(uri), { timeoutDuration: 5000 });
    })().catch((err: unknown) => {
      keys = undefined;
      throw err;
    });
    return keys;
  };
  return async (token: string): Promise<JWTPayload> => {
    const { payload } = await jwtVerify(token, await keySet(), {
      issuer: settings.issuer,
      audience: settings.audience,
      algorithms: ["RS256", "ES256", "PS256"],
      requiredClaims: ["sub", "exp"],
    });
    return payload;
  };
}

/** The claims the API's actor needs (see actorFromClaims), flattened for the authorizer's context. */
export function contextOf(payload: JWTPayload): AuthorizerContext {
  const out: AuthorizerContext = { sub: String(payload.sub) };
  for (const name of ["groups", "roles", "custom:role", "custom:branch", "branch", "email"]) {
    const v = payload[name];
    if (v === undefined || v === null) continue;
    out[name] = Array.isArray(v) ? v.map(String).join(",") : String(v);
  }
  return out;
}
