import { LogFormatter, Logger, LogItem } from "@aws-lambda-powertools/logger";
import type { LogAttributes, UnformattedAttributes } from "@aws-lambda-powertools/logger/types";
import { logLevelOf, readEnv } from "./env.ts";

const PII_KEYS = new Set(["name", "phone", "email", "to", "text", "html", "subject", "message", "birthday"]);
const PHONE = /(\+?86)?1[3-9]\d{9}/g;
const EMAIL = /[^\s@"'<>]+@[^\s@"'<>]+\.[A-Za-z]{2,}/g;

/** Masks personal data in any value about to be logged: known PII keys by name, phones and emails by shape. */
export function maskPii(value: unknown, depth = 0): unknown {
  if (depth > 6) return "[…]";
  if (typeof value === "string")
    return value.replace(PHONE, (m) => `${m.slice(0, -8)}****${m.slice(-4)}`).replace(EMAIL, "***@***");
  if (Array.isArray(value)) return value.map((v) => maskPii(v, depth + 1));
  // An Error's fields are not enumerable: without this it logs as `{}`, and "see the logs" leads nowhere.
  if (value instanceof Error) {
    const extra = value as Error & { code?: unknown; $metadata?: { httpStatusCode?: number } };
    return {
      name: value.name,
      message: maskPii(value.message, depth + 1),
      stack: maskPii(value.stack, depth + 1),
      ...(extra.code !== undefined ? { code: maskPii(extra.code, depth + 1) } : {}),
      ...(extra.$metadata?.httpStatusCode ? { httpStatusCode: extra.$metadata.httpStatusCode } : {}),
      ...(value.cause !== undefined ? { cause: maskPii(value.cause, depth + 1) } : {}),
    };
  }
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = PII_KEYS.has(k) && v !== undefined && v !== null ? "***" : maskPii(v, depth + 1);
    return out;
  }
  return value;
}

/** Powertools' standard JSON shape, with every attribute passed through maskPii. */
class MaskingFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const base = {
      level: attributes.logLevel,
      message: maskPii(attributes.message) as string,
      timestamp: this.formatTimestamp(attributes.timestamp),
      service: attributes.serviceName,
      cold_start: attributes.lambdaContext?.coldStart,
      function_name: attributes.lambdaContext?.functionName,
      function_request_id: attributes.lambdaContext?.awsRequestId,
      xray_trace_id: attributes.xRayTraceId,
    };
    return new LogItem({ attributes: base }).addAttributes(maskPii(additional) as LogAttributes);
  }
}

/** One logger per process, as Powertools intends; its level is fixed at construction (TIERCAST_LOG_LEVEL). */
export const logger = new Logger({
  serviceName: "tiercast",
  logLevel: logLevelOf(readEnv()),
  logFormatter: new MaskingFormatter(),
});
