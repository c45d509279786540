import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { completeSignIn, type SignInConfig, startSignIn } from "../../web/src/auth.ts";

// The browser globals the console's sign-in uses; the token endpoint is a real server on 127.0.0.1.
const store = new Map<string, string>();
let assigned = "";
let received: URLSearchParams | undefined;
let server: Server;
let config: SignInConfig;

beforeAll(async () => {
  vi.stubGlobal("sessionStorage", {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => void store.set(k, v),
    removeItem: (k: string) => void store.delete(k),
  });
  vi.stubGlobal("location", { assign: (u: string) => void (assigned = u) });
  vi.stubGlobal("history", { replaceState: () => undefined });
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received = new URLSearchParams(body);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ id_token: "header.payload.sig", access_token: "a" }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const idp = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  config = {
    clientId: "console",
    redirectUri: "https://campaigns.bank.example/",
    authorizeUrl: `${idp}/oauth2/authorize`,
    tokenUrl: `${idp}/oauth2/token`,
  };
});
afterAll(async () => {
  vi.unstubAllGlobals();
  await new Promise<void>((r) => server.close(() => r()));
});

describe("console sign-in (code flow + PKCE)", () => {
  it("sends a S256 challenge and redeems the code with the verifier behind it", async () => {
    await startSignIn(config);
    const authorize = new URL(assigned);
    expect(authorize.searchParams.get("response_type")).toBe("code");
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("redirect_uri")).toBe("https://campaigns.bank.example/");
    const state = authorize.searchParams.get("state")!;
    const idToken = await completeSignIn(config, `https://campaigns.bank.example/?code=c0de&state=${state}`);
    expect(idToken).toBe("header.payload.sig");
    expect(received?.get("grant_type")).toBe("authorization_code");
    expect(received?.get("code")).toBe("c0de");
    const verifier = received?.get("code_verifier") ?? "";
    expect(createHash("sha256").update(verifier).digest("base64url")).toBe(
      authorize.searchParams.get("code_challenge"),
    );
  });

  it("refuses a callback whose state this tab did not send", async () => {
    await startSignIn(config);
    received = undefined;
    await expect(
      completeSignIn(config, "https://campaigns.bank.example/?code=c0de&state=forged"),
    ).rejects.toThrow(/state mismatch/);
    expect(received).toBeUndefined();
  });

  it("is not a callback without a code", async () => {
    expect(await completeSignIn(config, "https://campaigns.bank.example/#/campaigns")).toBeUndefined();
  });
});
