/**
 * Sign-in on AWS: the authorization code flow with PKCE (RFC 7636) against the user pool's hosted
 * domain, or the bank IdP in AWS China. The console is a public client (no secret in a browser); the ID
 * token it gets back is the bearer the API's authorizer verifies. Locally there is no /config.json and
 * the console takes a `tiercast users add` token instead.
 */
export interface SignInConfig {
  clientId: string;
  redirectUri: string;
  authorizeUrl: string;
  tokenUrl: string;
  logoutUrl?: string;
}

// The few browser globals used, typed here so the server-side tests can type-check this file too.
interface Browser {
  sessionStorage: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
  };
  history: { replaceState(data: unknown, unused: string, url: string): void };
  location: { href: string; assign(url: string): void };
}
const browser = () => globalThis as unknown as Browser;

const VERIFIER = "tiercast.pkce.verifier";
const STATE = "tiercast.pkce.state";

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const random = (n: number) => base64url(crypto.getRandomValues(new Uint8Array(n)));

/** S256: base64url(SHA-256(verifier)). */
export async function challengeOf(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/** The deployment's sign-in settings (written by the web stack), with an OIDC issuer's endpoints discovered. */
export async function loadSignIn(): Promise<SignInConfig | undefined> {
  try {
    const res = await fetch("/config.json");
    if (!res.ok || !res.headers.get("content-type")?.includes("json")) return undefined;
    const { signIn } = (await res.json()) as { signIn?: Partial<SignInConfig> & { issuer?: string } };
    if (!signIn?.clientId || !signIn.redirectUri) return undefined;
    let { authorizeUrl, tokenUrl, logoutUrl } = signIn;
    if (signIn.issuer && (!authorizeUrl || !tokenUrl)) {
      const d = (await (
        await fetch(`${signIn.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`)
      ).json()) as {
        authorization_endpoint?: string;
        token_endpoint?: string;
        end_session_endpoint?: string;
      };
      authorizeUrl = d.authorization_endpoint;
      tokenUrl = d.token_endpoint;
      logoutUrl = d.end_session_endpoint;
    }
    if (!authorizeUrl || !tokenUrl) return undefined;
    return {
      clientId: signIn.clientId,
      redirectUri: signIn.redirectUri,
      authorizeUrl,
      tokenUrl,
      ...(logoutUrl ? { logoutUrl } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Sends the browser to the IdP with a fresh verifier and state (kept for this tab only). */
export async function startSignIn(config: SignInConfig): Promise<void> {
  const verifier = random(48);
  const state = random(16);
  browser().sessionStorage.setItem(VERIFIER, verifier);
  browser().sessionStorage.setItem(STATE, state);
  const url = new URL(config.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: "openid email profile",
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  }).toString();
  browser().location.assign(url.toString());
}

/**
 * Back from the IdP (`?code=…&state=…`): exchanges the code with the verifier for the ID token. Returns
 * the token, or undefined when this page load is not a sign-in callback. A state that does not match
 * what this tab sent is refused (a forged callback).
 */
export async function completeSignIn(
  config: SignInConfig,
  href = browser().location.href,
): Promise<string | undefined> {
  const url = new URL(href);
  const code = url.searchParams.get("code");
  if (!code) return undefined;
  const state = browser().sessionStorage.getItem(STATE);
  const verifier = browser().sessionStorage.getItem(VERIFIER);
  browser().sessionStorage.removeItem(STATE);
  browser().sessionStorage.removeItem(VERIFIER);
  browser().history.replaceState(null, "", `${url.pathname}${url.hash}`);
  if (!state || !verifier || url.searchParams.get("state") !== state)
    throw new Error("sign-in state mismatch");
  const res = await fetch(config.tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.clientId,
      code,
      redirect_uri: config.redirectUri,
      code_verifier: verifier,
    }).toString(),
  });
  if (!res.ok) throw new Error(`sign-in failed: HTTP ${res.status}`);
  const { id_token } = (await res.json()) as { id_token?: string };
  if (!id_token) throw new Error("sign-in failed: no ID token");
  return id_token;
}
