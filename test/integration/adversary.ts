import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cli } from "../helpers.ts";

/**
 * Helpers of the adversarial suite: the real CLI killed at chosen points, and the promises checked
 * from the gateway's own log (`sms-sink.jsonl`) and the ledger, never from what the product says.
 */
const BIN = new URL("../../bin/tiercast.mjs", import.meta.url).pathname;

/**
 * Unknown outcomes (a provider call whose answer was lost) are reconciled from the gateway's own record
 * before a launch or a tick's drain ends, so none may be left: the tolerance that counted them apart
 * while the defect stood is off. Set to true only to investigate a regression.
 */
export const TOLERATE_UNRECONCILED_TIMEOUTS = false;

export interface SinkLine {
  messageId: string;
  to: string;
  text: string;
  tag: string;
  at: string;
  receivedAt: string;
}

/** Every message the gateway accepted, in the order it logged them (an append-only file). */
export function sinkLines(dataDir: string): SinkLine[] {
  const path = join(dataDir, "sms-sink.jsonl");
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  const out: SinkLine[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as SinkLine);
    } catch {
      // A line cut short by kill -9 mid-write is not a message the gateway acknowledged.
    }
  }
  return out;
}

export function sinkCount(dataDir: string): number {
  const path = join(dataDir, "sms-sink.jsonl");
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, "utf8");
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

export interface KillProbe {
  /** Lines in the gateway's log now. */
  lines: number;
  /** Lines this process added. */
  added: number;
  /** Wall-clock ms since the process was spawned. */
  elapsedMs: number;
  /** Wall-clock ms since the log last grew (or since spawn). */
  stalledMs: number;
}

export interface RunOutcome {
  killed: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
  added: number;
  elapsedMs: number;
}

/**
 * Runs one CLI command in a child process and SIGKILLs it as soon as `killWhen` holds (polled every
 * 20 ms). Without `killWhen`, or if the process ends first, it runs to completion. Deadline on both.
 */
export async function runCli(
  args: string[],
  options: {
    dataDir: string;
    env?: NodeJS.ProcessEnv;
    killWhen?: (p: KillProbe) => boolean;
    deadlineMs?: number;
  },
): Promise<RunOutcome> {
  const start = Date.now();
  const before = sinkCount(options.dataDir);
  const child: ChildProcess = spawn(process.execPath, [BIN, "--data-dir", options.dataDir, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let done = false;
  let code: number | null = null;
  void exited.then((c) => {
    done = true;
    code = c;
  });
  let killed = false;
  let lastLines = before;
  let lastGrowth = start;
  // Generous: inside the full suite on 2 cores one 5k relaunch took over 180 s (alone: ~20 s).
  const deadline = start + (options.deadlineMs ?? 420_000);
  while (!done) {
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await exited;
      throw new Error(`tiercast ${args.join(" ")} passed its deadline; stderr: ${stderr.slice(-2000)}`);
    }
    if (options.killWhen) {
      const lines = sinkCount(options.dataDir);
      if (lines !== lastLines) {
        lastLines = lines;
        lastGrowth = Date.now();
      }
      const probe = {
        lines,
        added: lines - before,
        elapsedMs: Date.now() - start,
        stalledMs: Date.now() - lastGrowth,
      };
      if (options.killWhen(probe)) {
        child.kill("SIGKILL");
        await exited;
        // It may have finished on its own between the probe and the signal.
        killed = code === null;
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await exited;
  return {
    killed,
    code,
    stdout,
    stderr,
    added: sinkCount(options.dataDir) - before,
    elapsedMs: Date.now() - start,
  };
}

/** A CLI command that must succeed; its JSON output. */
export async function cliJson<T>(args: string[], dataDir: string, env?: NodeJS.ProcessEnv): Promise<T> {
  const r = await cli([...args, "--json"], { dataDir, env, timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`tiercast ${args.join(" ")} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.json() as T;
}

export interface ExportedRow {
  customerId: string;
  tier: string;
  decision: string;
  reason: string;
  channel: string;
  variant: string;
  messageId: string;
  at: string;
  dueAt: string;
  stage: string;
}

export async function ledgerOf(dataDir: string, campaignId: string, config: string): Promise<ExportedRow[]> {
  const r = await cli(["ledger", campaignId, "--format", "json", "--config", config], {
    dataDir,
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`ledger ${campaignId} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ExportedRow[];
}

/** The mainland mobile as the gateway sees it. */
export const e164 = (phone: string) => (phone.startsWith("+86") ? phone : `+86${phone}`);

// Asia/Shanghai is UTC+8 all year (no DST): computed here, not with the product's own time helpers.
const shanghai = (iso: string) => new Date(Date.parse(iso) + 8 * 3_600_000).toISOString();

/** Inside the marketing window, 08:00 ≤ local time < 22:00? */
export const isMarketingWindow = (iso: string, start = "08:00", end = "22:00") => {
  const hhmm = shanghai(iso).slice(11, 16);
  return hhmm >= start && hhmm < end;
};

/** The local calendar day (Asia/Shanghai). */
export const dayOf = (iso: string) => shanghai(iso).slice(0, 10);

export interface Promises {
  /** Send keys the gateway received more than once. */
  duplicateSends: string[];
  /** phone#day with more than one marketing SMS. */
  duplicatePhoneDays: string[];
  /** Messages received outside 08:00–22:00 Asia/Shanghai (runtime clock). */
  outsideQuietHours: SinkLine[];
  /** Messages received after the customer's (or the phone's) opt-out was stored. */
  afterOptOut: SinkLine[];
  /** Ledger rows neither terminal nor deferred to a later time. */
  stranded: (ExportedRow & { campaignId: string })[];
  /** Gateway messages of a campaign without a sent row, and sent rows the gateway never received. */
  sentMismatch: string[];
  /**
   * `unknown` rows (and whether the gateway received their send): set apart from `stranded` only
   * when the caller tolerates them (the known defect pinned by adversarial-redelivery's `it.fails`).
   */
  receivedUnknown: string[];
}

/**
 * Judges the promises from the gateway's log and the ledger. `optOuts` are the customers opted out,
 * with the log's length when their opt-out had been stored (no process was running then, so every
 * later line was sent after it).
 */
export function judge(input: {
  lines: SinkLine[];
  ledgers: Record<string, ExportedRow[]>;
  optOuts: { customerId: string; phone?: string; fromLine: number }[];
  /** The runtime instant the checks are made at: a deferred row must be due after it. */
  now: string;
  /** Count `unknown` rows apart instead of as stranded (see Promises.receivedUnknown). */
  tolerateReceivedUnknown?: boolean;
}): Promises {
  const { lines, ledgers } = input;
  const byTag = new Map<string, number>();
  const byPhoneDay = new Map<string, number>();
  for (const m of lines) {
    byTag.set(m.tag, (byTag.get(m.tag) ?? 0) + 1);
    const pd = `${m.to}#${dayOf(m.receivedAt)}`;
    byPhoneDay.set(pd, (byPhoneDay.get(pd) ?? 0) + 1);
  }
  const afterOptOut: SinkLine[] = [];
  for (const o of input.optOuts)
    for (let i = o.fromLine; i < lines.length; i++) {
      const m = lines[i]!;
      if (m.tag.split("#")[1] === o.customerId || (o.phone && m.to === e164(o.phone))) afterOptOut.push(m);
    }
  const stranded: Promises["stranded"] = [];
  const sentMismatch: string[] = [];
  const receivedUnknown: string[] = [];
  for (const [campaignId, rows] of Object.entries(ledgers)) {
    const received = new Set(
      lines.filter((m) => m.tag.startsWith(`${campaignId}#`)).map((m) => m.tag.split("#")[1]!),
    );
    const tolerated = new Set<string>();
    for (const r of rows) {
      const terminal = ["sent", "failed", "excluded", "holdout"].includes(r.decision);
      const deferredLater = r.decision === "deferred" && r.dueAt > input.now;
      if (terminal || deferredLater) continue;
      if (input.tolerateReceivedUnknown && r.decision === "unknown") {
        tolerated.add(r.customerId);
        receivedUnknown.push(
          `${campaignId}#${r.customerId}: ${received.has(r.customerId) ? "received" : "not received"}`,
        );
      } else stranded.push({ ...r, campaignId });
    }
    const sent = new Set(rows.filter((r) => r.decision === "sent").map((r) => r.customerId));
    for (const c of received)
      if (!sent.has(c) && !tolerated.has(c)) sentMismatch.push(`${campaignId}#${c}: received, not sent`);
    for (const c of sent)
      if (!received.has(c) && rows.find((r) => r.customerId === c)?.channel === "sms")
        sentMismatch.push(`${campaignId}#${c}: sent, never received`);
  }
  return {
    duplicateSends: [...byTag].filter(([, n]) => n > 1).map(([t]) => t),
    duplicatePhoneDays: [...byPhoneDay].filter(([, n]) => n > 1).map(([t]) => t),
    outsideQuietHours: lines.filter((m) => !isMarketingWindow(m.receivedAt)),
    afterOptOut,
    stranded,
    sentMismatch,
    receivedUnknown,
  };
}

/** Short enough for a failure message. */
export function summarize(p: Promises) {
  return {
    duplicateSends: p.duplicateSends.slice(0, 10),
    duplicatePhoneDays: p.duplicatePhoneDays.slice(0, 10),
    outsideQuietHours: p.outsideQuietHours.slice(0, 5).map((m) => `${m.tag}@${m.receivedAt}`),
    afterOptOut: p.afterOptOut.slice(0, 5).map((m) => `${m.tag}@${m.receivedAt}`),
    stranded: p.stranded.slice(0, 10).map((r) => `${r.campaignId}#${r.customerId}:${r.decision}:${r.reason}`),
    strandedCount: p.stranded.length,
    sentMismatch: p.sentMismatch.slice(0, 10),
    unknownLeft: p.receivedUnknown.length,
    unknownLeftNotReceived: p.receivedUnknown.filter((u) => u.endsWith("not received")).length,
  };
}

/**
 * Where the work index (GSI3) and the table disagree about a ledger row, read straight from the
 * store after every process has gone: a row with a GSI3 key the index lacks (invisible to every
 * sweep), or an index entry whose row is elsewhere or in another state. Must be empty after any kill.
 */
export async function indexDisagreements(dataDir: string, configPath: string): Promise<string[]> {
  const { ScanCommand } = await import("@aws-sdk/lib-dynamodb");
  const { startRuntime } = await import("#local/runtime.ts");
  const { parseConfig } = await import("#platform/config.ts");
  const config = parseConfig(JSON.parse(readFileSync(configPath, "utf8")));
  const runtime = await startRuntime({ config, dataDir });
  try {
    const scan = async (indexName?: string) => {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await runtime.repo.ddb.send(
          new ScanCommand({ TableName: runtime.repo.table, IndexName: indexName, ExclusiveStartKey: start }),
        );
        items.push(...((out.Items ?? []) as Record<string, unknown>[]));
        start = out.LastEvaluatedKey;
      } while (start);
      return items;
    };
    const rows = (await scan()).filter((i) => String(i.PK).startsWith("LEDGER#"));
    const indexed = new Map(
      (await scan("GSI3"))
        .filter((i) => String(i.PK).startsWith("LEDGER#"))
        .map((i) => [`${i.PK}|${i.SK}`, i]),
    );
    const out: string[] = [];
    for (const row of rows) {
      const k = `${row.PK}|${row.SK}`;
      const entry = indexed.get(k);
      indexed.delete(k);
      if (!row.GSI3PK && entry) out.push(`${k}: index entry for a row outside the index`);
      else if (row.GSI3PK && !entry) out.push(`${k}: ${row.decision} row missing from ${row.GSI3PK}`);
      else if (entry && (entry.GSI3PK !== row.GSI3PK || entry.decision !== row.decision))
        out.push(`${k}: index says ${entry.GSI3PK}/${entry.decision}, table ${row.GSI3PK}/${row.decision}`);
    }
    for (const k of indexed.keys()) out.push(`${k}: index entry without a row`);
    return out;
  } finally {
    await runtime.stop();
  }
}
