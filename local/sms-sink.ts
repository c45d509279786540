import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { SmsFaults } from "#platform/env.ts";
import { rng } from "./synthetic.ts";

/** Fault injection for the SMS gateway sink: one schema with the settings that carry it (rates per request). */
export type { SmsFaults };

export interface SmsRecord {
  messageId: string;
  to: string;
  text: string;
  tag: string;
  /** When the gateway accepted it, on the runtime's clock. */
  at: string;
  /** When the request arrived, on the runtime's clock (before any slowness): when the send was made. */
  receivedAt: string;
}

export interface SmsSink {
  endpoint: string;
  /** Every accepted message without a data dir (tests); with one, the file has them all and memory keeps the first 50,000. */
  messages: SmsRecord[];
  /** How many messages were accepted. */
  accepted: number;
  faults: SmsFaults;
  /**
   * What the fault drill decides for one request (after any slowness): answer with an error, throttle,
   * or accept and never answer. The vendor-protocol gateways (local/vendor-sms.ts) draw from it too.
   */
  drawFault(): Promise<"fail" | "throttle" | "timeout" | undefined>;
  /** Logs an accepted message: the same log and tag lookup whichever protocol it came in by. */
  accept(
    message: { to: string; text: string; tag: string },
    receivedAt: string,
    messageId?: string,
  ): SmsRecord;
  /**
   * The gateway's own record of what it accepted for one number, from its log (a crash recovery reads
   * the file once): what a vendor's query API answers from (local/vendor-sms.ts).
   */
  sentTo(to: string): SmsRecord[];
  /** Holds a request open until the sink stops (an accepted message whose answer never comes back). */
  hang(): Promise<void>;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of req) body += chunk;
  return body;
}

/**
 * A local SMS gateway that records every message it accepts (data-dir/sms-sink.jsonl) and can be
 * told to fail, throttle, time out or be slow. Binds 127.0.0.1 on a free port.
 */
export async function startSmsSink(
  dataDir: string | undefined,
  faults: SmsFaults = {},
  /** The embedded runtime's clock, so the log's times are the ones quiet hours are judged on. */
  clock: () => Date = () => new Date(),
): Promise<SmsSink> {
  const messages: SmsRecord[] = [];
  const logPath = dataDir ? join(dataDir, "sms-sink.jsonl") : undefined;
  // The gateway's own record by our tag, for reconciling a send whose answer was lost. Built from the
  // log on the first lookup only (a crash recovery), then kept up to date.
  let byTag: Map<string, string> | undefined;
  const logged = (): SmsRecord[] => {
    if (!logPath) return messages;
    const lines = existsSync(logPath) ? readFileSync(logPath, "utf8").split("\n") : [];
    return lines.filter(Boolean).map((line) => JSON.parse(line) as SmsRecord);
  };
  const lookup = (tag: string): string | undefined => {
    if (!byTag) {
      byTag = new Map();
      for (const r of logged()) byTag.set(r.tag, r.messageId);
    }
    return byTag.get(tag);
  };
  let byNumber: Map<string, SmsRecord[]> | undefined;
  const addByNumber = (r: SmsRecord) => {
    const list = byNumber?.get(r.to);
    if (list) list.push(r);
    else byNumber?.set(r.to, [r]);
  };
  // Appended synchronously before the gateway answers: what it acknowledged is on disk, even if the
  // process dies on the next line (the crash tests count on it, as a real gateway's log would).
  let log: number | undefined = logPath ? openSync(logPath, "a", 0o600) : undefined;
  const sink = { faults, messages, accepted: 0 } as SmsSink;
  // Memory stays flat on a large run: the jsonl file is the gateway's log.
  const keepInMemory = log !== undefined ? 50_000 : Number.POSITIVE_INFINITY;
  let random = rng(faults.seed ?? 1);
  let seq = 0;
  const hanging = new Set<() => void>();
  const server: Server = createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && req.url === "/messages") return reply(200, messages);
    if (req.method === "GET" && req.url?.startsWith("/messages/by-tag/")) {
      const messageId = lookup(decodeURIComponent(req.url.slice("/messages/by-tag/".length)));
      return messageId ? reply(200, { messageId }) : reply(404, { error: "no message with that tag" });
    }
    if (req.method === "POST" && req.url === "/faults") {
      Object.assign(sink.faults, JSON.parse(await readBody(req)));
      random = rng(sink.faults.seed ?? 1);
      return reply(200, sink.faults);
    }
    if (req.method !== "POST" || req.url !== "/messages") return reply(404, { error: "not found" });
    const receivedAt = clock().toISOString();
    let payload: { to?: string; text?: string; tag?: string };
    try {
      payload = JSON.parse(await readBody(req));
    } catch {
      return reply(400, { error: "invalid JSON" });
    }
    if (!payload.to || !/^\+861[3-9]\d{9}$/.test(payload.to) || !payload.text)
      return reply(400, { error: "invalid destination or empty text" });
    const fault = stuck(payload.tag ?? "") ? "fail" : await sink.drawFault();
    if (fault === "fail") return reply(500, { error: "gateway error" });
    if (fault === "throttle") return reply(429, { error: "throttled" });
    const record = sink.accept({ to: payload.to, text: payload.text, tag: payload.tag ?? "" }, receivedAt);
    if (fault === "timeout") {
      // Accepted and sent, but the answer never comes back.
      await sink.hang();
      res.destroy();
      return;
    }
    reply(200, { messageId: record.messageId });
  });
  const stuck = (tag: string) =>
    !!sink.faults.stuckRate &&
    createHash("sha256").update(tag).digest().readUInt32BE(0) / 2 ** 32 < sink.faults.stuckRate;
  sink.drawFault = async () => {
    const f = sink.faults;
    if (f.slowMs) await new Promise((r) => setTimeout(r, f.slowMs));
    const draw = random();
    if (draw < (f.failRate ?? 0)) return "fail";
    if (draw < (f.failRate ?? 0) + (f.throttleRate ?? 0)) return "throttle";
    if (draw < (f.failRate ?? 0) + (f.throttleRate ?? 0) + (f.timeoutRate ?? 0)) return "timeout";
    return undefined;
  };
  sink.accept = (message, receivedAt, messageId) => {
    const record: SmsRecord = {
      messageId: messageId ?? `sms-${Date.now().toString(36)}-${++seq}`,
      to: message.to,
      text: message.text,
      tag: message.tag,
      at: clock().toISOString(),
      receivedAt,
    };
    byTag?.set(record.tag, record.messageId);
    addByNumber(record);
    sink.accepted++;
    if (messages.length < keepInMemory) messages.push(record);
    if (log !== undefined) writeSync(log, `${JSON.stringify(record)}\n`);
    return record;
  };
  sink.sentTo = (to) => {
    if (!byNumber) {
      byNumber = new Map();
      for (const r of logged()) addByNumber(r);
    }
    return byNumber.get(to) ?? [];
  };
  sink.hang = () => new Promise<void>((resolve) => hanging.add(resolve));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  sink.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.stop = async () => {
    for (const release of hanging) release();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (log !== undefined) closeSync(log);
    log = undefined;
  };
  return sink;
}
