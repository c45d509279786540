import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Request signing of the two domestic SMS vendors, with node:crypto only: the adapters sign with it and
 * the embedded gateway (local/vendor-sms.ts) verifies with it. Both are pinned to the vendors' own
 * published examples in test/unit/vendor-signing.test.ts, so a bug shared by both sides still fails.
 */

/** Alibaba Cloud RPC percent-encoding: RFC 3986 (space %20, `*` %2A, `~` kept), UTF-8. */
export function aliyunPercentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The canonicalized query string: every parameter but Signature, sorted by name, each encoded. */
export function aliyunCanonicalQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((k) => k !== "Signature")
    .sort()
    .map((k) => `${aliyunPercentEncode(k)}=${aliyunPercentEncode(params[k]!)}`)
    .join("&");
}

/** `METHOD&%2F&encode(canonical query)`: the path is always `/` in signature v1. */
export function aliyunStringToSign(method: string, params: Record<string, string>): string {
  return `${method.toUpperCase()}&${aliyunPercentEncode("/")}&${aliyunPercentEncode(aliyunCanonicalQuery(params))}`;
}

/** Signature v1 (HMAC-SHA1): base64 of HMAC-SHA1 keyed with `AccessKeySecret&`. */
export function aliyunSignature(
  method: string,
  params: Record<string, string>,
  accessKeySecret: string,
): string {
  return createHmac("sha1", `${accessKeySecret}&`)
    .update(aliyunStringToSign(method, params))
    .digest("base64");
}

const sha256Hex = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const hmac = (key: string | Buffer, s: string) => createHmac("sha256", key).update(s, "utf8").digest();

export interface Tc3Request {
  secretId: string;
  secretKey: string;
  /** The product, the first label of its host: `sms`. */
  service: string;
  /** Headers taking part in the signature; `content-type` and `host` at least (names in any case). */
  headers: Record<string, string>;
  payload: string;
  /** Unix seconds: the X-TC-Timestamp header; its UTC date goes into the credential scope. */
  timestamp: number;
  method?: string;
  /** GET only; always empty for POST. */
  query?: string;
}

export interface Tc3Signed {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
  signedHeaders: string;
  credentialScope: string;
  authorization: string;
}

/** Tencent Cloud API 3.0 signature v3 (TC3-HMAC-SHA256). */
export function tc3Sign(r: Tc3Request): Tc3Signed {
  const headers = Object.entries(r.headers)
    .map(([k, v]) => [k.toLowerCase(), v.trim().toLowerCase()] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalHeaders = headers.map(([k, v]) => `${k}:${v}\n`).join("");
  const signedHeaders = headers.map(([k]) => k).join(";");
  const canonicalRequest = [
    (r.method ?? "POST").toUpperCase(),
    "/",
    r.query ?? "",
    canonicalHeaders,
    signedHeaders,
    sha256Hex(r.payload),
  ].join("\n");
  const date = new Date(r.timestamp * 1000).toISOString().slice(0, 10);
  const credentialScope = `${date}/${r.service}/tc3_request`;
  const stringToSign = [
    "TC3-HMAC-SHA256",
    String(r.timestamp),
    credentialScope,
    sha256Hex(canonicalRequest),
  ].join("\n");
  const signing = hmac(hmac(hmac(`TC3${r.secretKey}`, date), r.service), "tc3_request");
  const signature = createHmac("sha256", signing).update(stringToSign, "utf8").digest("hex");
  return {
    canonicalRequest,
    stringToSign,
    signature,
    signedHeaders,
    credentialScope,
    authorization: `TC3-HMAC-SHA256 Credential=${r.secretId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/** Constant-time comparison of two signatures (what a verifier must use). */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
