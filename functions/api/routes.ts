import { Readable } from "node:stream";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { assertHeadOffice, assertInScope, assertRmScope } from "#functions/access/scope.ts";
import { listUsers, NewUser, type Role } from "#functions/access/users.ts";
import { verifyAudit } from "#functions/audit/store.ts";
import { maskContact, previewCampaign } from "#functions/campaign/preview.ts";
import {
  CAMPAIGN_ACTIONS,
  type CampaignAction,
  type CampaignRecord,
  listCampaigns,
} from "#functions/campaign/record.ts";
import { Campaign, parseCampaign } from "#functions/campaign/schema.ts";
import { localTime } from "#functions/campaign/time.ts";
import { uncontactable } from "#functions/customers/reports.ts";
import { getCustomer } from "#functions/customers/store.ts";
import { readFunnel, stageTotals } from "#functions/funnel/core.ts";
import { targetProgress } from "#functions/funnel/targets.ts";
import { parseEncoding } from "#functions/import/encoding.ts";
import { importJobProgress } from "#functions/import/job.ts";
import { readRecords, type SourceRecord } from "#functions/import/parse.ts";
import { readXlsx } from "#functions/import/xlsx.ts";
import { csvLine, exportRow, LEDGER_COLUMNS, type LedgerRow, STAGES } from "#functions/ledger/rows.ts";
import {
  campaignAudit,
  campaignChanges,
  campaignFromBody,
  campaignInScope,
  createCampaign,
  editCampaign,
  transitionCampaign,
} from "#functions/usecases/campaigns.ts";
import { importCustomers, ingestEvents } from "#functions/usecases/customers.ts";
import { createImportJobAs, importJobInScope, startImportJobAs } from "#functions/usecases/imports.ts";
import { setCampaignTarget } from "#functions/usecases/targets.ts";
import { addUserAs } from "#functions/usecases/users.ts";
import { csvRow } from "#platform/csv.ts";
import { InputError, NotFoundError } from "#platform/errors.ts";
import { shardOf } from "#platform/hash.ts";
import { batchGet, mapLimit } from "#platform/repo.ts";
import { key } from "#platform/table.ts";
import { dryRunRoutes } from "./dryruns.ts";
import { type AnyRoute, type ApiDeps, json, type Route, readLimited, route } from "./http.ts";
import { performanceRoutes } from "./performance.ts";
import { rewardRoutes } from "./rewards.ts";
import { scheduleRoutes } from "./schedules.ts";
import { taskRoutes } from "./tasks.ts";

const ANYONE: readonly Role[] = ["marketer", "approver", "analyst", "admin"];
const MAKERS: readonly Role[] = ["marketer", "admin"];
const CHECKERS: readonly Role[] = ["approver", "admin"];
const ADMINS: readonly Role[] = ["admin"];
/** The RM workbench's roles: they see tasks and books, not the marketing surfaces. */
const FIELD: readonly Role[] = ["rm", "branch_manager"];

const ACTION_ROLES: Record<CampaignAction, readonly Role[]> = {
  submit: MAKERS,
  approve: CHECKERS,
  reject: CHECKERS,
  launch: MAKERS,
  pause: MAKERS,
  resume: MAKERS,
  cancel: MAKERS,
};

const summaryOf = (r: CampaignRecord, sent: number | null = null) => ({
  campaignId: r.campaignId,
  name: r.campaign.name ?? r.campaignId,
  playbook: r.campaign.playbook,
  status: r.status,
  version: r.version,
  tiers: r.campaign.segment.tiers,
  createdBy: r.createdBy ?? null,
  branchId: r.branchId ?? null,
  approval: r.approval ?? null,
  updatedAt: r.updatedAt,
  summary: r.summary ?? null,
  sent,
});

/** Sent so far (tick's later releases included): from the funnel counters, once a launch has begun. */
const sentSoFar = async (deps: ApiDeps, r: CampaignRecord) =>
  r.launchedAt || r.summary ? (await stageTotals(deps.repo, r.campaignId)).sent : null;

/** The records of a streamed body: JSONL by default, CSV or .xlsx by `?format=`, the encoding sniffed or `?encoding=`. */
function bodyRecords(
  stream: AsyncIterable<Uint8Array>,
  query: Record<string, string>,
  deps: ApiDeps,
): AsyncGenerator<SourceRecord> {
  const format = query.format ?? "jsonl";
  if (format !== "jsonl" && format !== "csv" && format !== "xlsx")
    throw new InputError(`format must be jsonl, csv or xlsx, got "${format}"`);
  if (format === "xlsx") {
    const offset = Math.round(localTime(deps.now(), deps.config.quietHours.timeZone).offsetMs / 60_000);
    return readXlsx(Readable.from(stream), { sheet: query.sheet, offsetMinutes: offset });
  }
  return readRecords(stream, { format, encoding: query.encoding ? parseEncoding(query.encoding) : "auto" });
}

/** The first byte that is not white space, and the whole stream again (nothing consumed). */
async function peekFirstByte(stream: AsyncIterable<Uint8Array>) {
  const it = stream[Symbol.asyncIterator]();
  const held: Uint8Array[] = [];
  let first: number | undefined;
  while (first === undefined) {
    const next = await it.next();
    if (next.done) break;
    held.push(next.value);
    first = next.value.find(
      (b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0xef && b !== 0xbb && b !== 0xbf,
    );
  }
  const rest = (async function* () {
    yield* held;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  })();
  return { first, rest };
}

/** One page of a campaign's ledger, shard by shard; the cursor is `shard:lastCustomerId`. */
async function ledgerPage(deps: ApiDeps, campaignId: string, cursor: string | undefined, limit: number) {
  let [shard, after] = cursor
    ? [Number(cursor.split(":")[0]), cursor.slice(cursor.indexOf(":") + 1)]
    : [0, ""];
  if (!Number.isInteger(shard) || shard < 0)
    throw new InputError(`cursor: not a cursor from this API: ${cursor}`);
  const rows: LedgerRow[] = [];
  while (shard < deps.config.shards && rows.length < limit) {
    const pk = key.ledgerPartition(campaignId, shard);
    const out = await deps.repo.ddb.send(
      new QueryCommand({
        TableName: deps.repo.table,
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": pk },
        Limit: limit - rows.length,
        ...(after ? { ExclusiveStartKey: { PK: pk, SK: after } } : {}),
      }),
    );
    rows.push(...((out.Items ?? []) as LedgerRow[]));
    if (out.LastEvaluatedKey) after = String(out.LastEvaluatedKey.SK);
    else {
      shard++;
      after = "";
    }
  }
  const next = shard < deps.config.shards ? `${shard}:${after}` : null;
  return { rows, next };
}

const limitOf = (q: Record<string, string>, max: number, dflt: number) => {
  const n = q.limit === undefined ? dflt : Number(q.limit);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new InputError(`limit must be an integer from 1 to ${max}`);
  return n;
};

const ImportJobBody = z.object({
  format: z.enum(["jsonl", "csv", "xlsx"]).default("jsonl"),
  encoding: z.string().max(40).optional().describe("auto (default), utf-8, gbk, gb18030"),
  sheet: z.string().min(1).max(100).optional().describe("an .xlsx worksheet (default: the first)"),
});

const TargetBody = z.object({
  period: z.string().describe("2027Q1, 2027-03 or 2027-W09"),
  stage: z.enum(STAGES),
  value: z.number().int().positive(),
  tier: z.string().min(1).default("all"),
});

const Note = z.object({ note: z.string().max(500).optional() }).default({});

function actionRoute(action: CampaignAction): Route<z.infer<typeof Note>> {
  return {
    method: "POST",
    path: `/api/campaigns/{campaignId}/${action}`,
    summary: `${action[0]!.toUpperCase()}${action.slice(1)} the campaign`,
    roles: ACTION_ROLES[action],
    body: Note,
    async handle({ actor, params, body, deps }) {
      const { record, executionId } = await transitionCampaign(
        deps,
        actor,
        params.campaignId!,
        action,
        body.note,
      );
      return { ...summaryOf(record), ...(executionId ? { executionId } : {}) };
    },
  };
}

export const ROUTES: AnyRoute[] = [
  route({
    method: "GET",
    path: "/api/health",
    summary: "Liveness",
    roles: "public",
    handle: async () => ({ ok: true }),
  }),
  route({
    method: "GET",
    path: "/api/me",
    summary: "The signed-in user",
    roles: [...ANYONE, ...FIELD],
    // With the bank's zone: the console shows every date in it, as schedules and quiet hours are judged.
    // With the tier schemes and the large-CD threshold: the builder offers the bank's own tiers.
    handle: async ({ actor, deps }) => ({
      ...actor,
      timeZone: deps.config.quietHours.timeZone,
      tierSchemes: Object.fromEntries(
        Object.entries(deps.config.tierSchemes).map(([name, s]) => [name, s.tiers.map((t) => t.name)]),
      ),
      largeCdMin: deps.config.largeCdMin,
    }),
  }),
  route({
    method: "GET",
    path: "/api/campaigns",
    summary: "Campaigns with their status (a branch user sees their branch's)",
    roles: ANYONE,
    async handle({ actor, deps }) {
      const listing = (await listCampaigns(deps.repo)).filter(
        (c) => !actor.branchId || c.branchId === actor.branchId,
      );
      const items = await batchGet(
        deps.repo.ddb,
        deps.repo.table,
        listing.map((c) => key.campaign(c.campaignId)),
      );
      const records = (items as unknown as CampaignRecord[]).sort((a, b) =>
        b.updatedAt.localeCompare(a.updatedAt),
      );
      const sent = await mapLimit(records, 8, (r) => sentSoFar(deps, r));
      return { campaigns: records.map((r, i) => summaryOf(r, sent[i])) };
    },
  }),
  route({
    method: "POST",
    path: "/api/campaigns",
    summary: "Create a draft campaign (the campaign file of CONTRACT.md)",
    roles: MAKERS,
    body: Campaign,
    rawJson: true,
    async handle({ actor, body, deps }) {
      return json(201, summaryOf(await createCampaign(deps, actor, body)));
    },
  }),
  route({
    method: "GET",
    path: "/api/campaigns/{campaignId}",
    summary: "One campaign: definition, status, version, approval",
    roles: ANYONE,
    async handle({ actor, params, deps }) {
      const record = await campaignInScope(deps, actor, params.campaignId!);
      return { ...summaryOf(record, await sentSoFar(deps, record)), campaign: record.campaign };
    },
  }),
  route({
    method: "PUT",
    path: "/api/campaigns/{campaignId}",
    summary: "Edit a campaign before launch: a new version, back to draft, approval dropped",
    roles: MAKERS,
    body: Campaign,
    rawJson: true,
    async handle({ actor, params, body, deps }) {
      return summaryOf(await editCampaign(deps, actor, params.campaignId!, body));
    },
  }),
  route({
    method: "POST",
    path: "/api/preview",
    summary: "Dry run of a campaign body: counts per tier and exclusion reason, sample messages",
    roles: ANYONE,
    body: Campaign,
    rawJson: true,
    async handle({ actor, body, deps }) {
      const campaign = campaignFromBody(deps, actor, body);
      return previewCampaign(deps.repo, campaign, deps.config, deps.now(), deps.secret);
    },
  }),
  route({
    method: "GET",
    path: "/api/campaigns/{campaignId}/preview",
    summary: "Dry run of a saved campaign",
    roles: ANYONE,
    async handle({ actor, params, deps }) {
      const record = await campaignInScope(deps, actor, params.campaignId!);
      const campaign = parseCampaign(record.campaign, deps.config);
      return previewCampaign(deps.repo, campaign, deps.config, deps.now(), deps.secret);
    },
  }),
  route({
    method: "GET",
    path: "/api/campaigns/{campaignId}/changes",
    summary: "What changed since the version last approved, field by field",
    roles: ANYONE,
    async handle({ actor, params, deps }) {
      return campaignChanges(deps, actor, params.campaignId!);
    },
  }),
  ...CAMPAIGN_ACTIONS.map((a) => route(actionRoute(a))),
  route({
    method: "GET",
    path: "/api/campaigns/{campaignId}/audit",
    summary: "The campaign's audit trail (append-only, hash-chained)",
    roles: ANYONE,
    async handle({ actor, params, deps }) {
      return campaignAudit(deps, actor, params.campaignId!);
    },
  }),
  route({
    method: "GET",
    path: "/api/campaigns/{campaignId}/funnel",
    summary: "Funnel per tier, variant, channel and day, uplift with its 95% interval, targets",
    roles: ANYONE,
    async handle({ actor, params, deps }) {
      const record = await campaignInScope(deps, actor, params.campaignId!);
      const [funnel, targets] = await Promise.all([
        readFunnel(deps.repo, record.campaignId),
        targetProgress(deps.repo, record.campaignId),
      ]);
      return { ...funnel, status: record.status, targets };
    },
  }),
  route({
    method: "GET",
    path: "/api/campaigns/{campaignId}/ledger",
    summary: "Ledger rows, paged (cursor); ?customer=ID for one; ?format=csv for an export page",
    roles: ANYONE,
    query: {
      customer: "one customer's row",
      cursor: "from the previous page",
      limit: "1-5000",
      format: "json|csv",
    },
    async handle({ actor, params, query, deps }) {
      const record = await campaignInScope(deps, actor, params.campaignId!);
      let page: { rows: LedgerRow[]; next: string | null };
      if (query.customer) {
        const row = await deps.repo.get<LedgerRow>(
          key.ledger(record.campaignId, shardOf(query.customer, deps.config.shards), query.customer),
        );
        if (!row)
          throw new NotFoundError(
            `customer ${query.customer} is not in the audience of ${record.campaignId}`,
          );
        page = { rows: [row], next: null };
      } else page = await ledgerPage(deps, record.campaignId, query.cursor, limitOf(query, 5000, 1000));
      if (query.format === "csv")
        return {
          status: 200,
          headers: {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": `attachment; filename="${record.campaignId}-ledger.csv"`,
            ...(page.next ? { "x-next-cursor": page.next } : {}),
          },
          body: `${query.cursor ? "" : csvRow(LEDGER_COLUMNS)}${page.rows.map(csvLine).join("")}`,
        };
      return { rows: page.rows.map(exportRow), next: page.next };
    },
  }),
  route({
    method: "GET",
    path: "/api/campaigns/{campaignId}/targets",
    summary: "Targets by quarter, month or week, with progress",
    roles: ANYONE,
    async handle({ actor, params, deps }) {
      await campaignInScope(deps, actor, params.campaignId!);
      return { campaignId: params.campaignId, targets: await targetProgress(deps.repo, params.campaignId!) };
    },
  }),
  route({
    method: "PUT",
    path: "/api/campaigns/{campaignId}/targets",
    summary: "Set a target for a period, tier and stage",
    roles: MAKERS,
    body: TargetBody,
    async handle({ actor, params, body, deps }) {
      await setCampaignTarget(deps, actor, {
        campaignId: params.campaignId!,
        ...(body as z.infer<typeof TargetBody>),
      });
      return { campaignId: params.campaignId, targets: await targetProgress(deps.repo, params.campaignId!) };
    },
  }),
  route({
    method: "GET",
    path: "/api/customers/{customerId}/decisions",
    summary: "Recipient lookup: every campaign decision about one customer, with its reason",
    roles: [...ANYONE, ...FIELD],
    async handle({ actor, params, deps }) {
      const customer = await getCustomer(deps.repo, params.customerId!);
      if (!customer) throw new NotFoundError(`no customer "${params.customerId}"`);
      // An RM reads only the customers of their book (403 other_rm), anyone else by branch.
      assertRmScope(actor, `customer ${customer.customerId}`, customer);
      const campaigns = (await listCampaigns(deps.repo)).filter(
        (c) => !actor.branchId || c.branchId === actor.branchId,
      );
      const rows = (await batchGet(
        deps.repo.ddb,
        deps.repo.table,
        campaigns.map((c) => key.ledger(c.campaignId, customer.shard, customer.customerId)),
      )) as unknown as LedgerRow[];
      return {
        customer: {
          customerId: customer.customerId,
          tier: customer.tier,
          branchId: customer.branchId ?? null,
          phone: customer.phone ? maskContact(customer.phone) : null,
          email: customer.email ? maskContact(customer.email) : null,
          consentSms: customer.consentSms,
          consentEmail: customer.consentEmail,
          riskFlag: customer.riskFlag,
        },
        decisions: rows
          .map((r) => ({ campaignId: r.campaignId, ...exportRow(r) }))
          .sort((a, b) => String(b.at).localeCompare(String(a.at))),
      };
    },
  }),
  route({
    method: "POST",
    path: "/api/customers/import",
    summary:
      "Upsert customers from a JSONL (default), CSV (?format=csv; UTF-8 or GBK, ?encoding=) or .xlsx (?format=xlsx, ?sheet=) body, streamed: any size",
    roles: MAKERS,
    body: "text",
    query: { format: "jsonl|csv|xlsx", encoding: "auto|utf-8|gbk|gb18030", sheet: "an .xlsx worksheet" },
    async handle({ actor, query, stream, deps }) {
      const parsed = bodyRecords(stream, query, deps);
      const report = await importCustomers(deps, actor, parsed, { source: `api:${query.format ?? "jsonl"}` });
      return report;
    },
  }),
  route({
    method: "POST",
    path: "/api/events",
    summary: "Ingest events (JSONL body streamed, ?format=csv|xlsx, or a JSON array); idempotent by eventId",
    roles: ADMINS,
    body: "text",
    query: { format: "jsonl|csv|xlsx", encoding: "auto|utf-8|gbk|gb18030" },
    async handle({ actor, query, stream, deps }) {
      const { first, rest } = await peekFirstByte(stream);
      if (first !== 0x5b /* [ */) return ingestEvents(deps, actor, bodyRecords(rest, query, deps));
      // A JSON array is parsed whole, so it has JSON's size limit.
      const text = await readLimited(rest, 6 * 1024 * 1024);
      let values: unknown;
      try {
        values = JSON.parse(text);
      } catch {
        throw new InputError("body: a JSON array that does not parse; send JSONL or a valid array");
      }
      if (!Array.isArray(values)) throw new InputError("body: send JSONL or a JSON array of events");
      return ingestEvents(
        deps,
        actor,
        values.map((v, i) => ({ line: i + 1, value: v as Record<string, unknown> })),
      );
    },
  }),
  route({
    method: "POST",
    path: "/api/imports",
    summary:
      "Start a nightly-export import: returns a presigned URL to PUT the file to (any size), then POST …/start",
    roles: MAKERS,
    body: ImportJobBody,
    async handle({ actor, body, deps }) {
      const created = await createImportJobAs(deps, actor, body as z.infer<typeof ImportJobBody>);
      return json(201, {
        jobId: created.job.jobId,
        uploadUrl: created.uploadUrl,
        method: "PUT",
        expiresAt: created.expiresAt,
        status: created.job.status,
      });
    },
  }),
  route({
    method: "POST",
    path: "/api/imports/{jobId}/start",
    summary: "Run an uploaded import job in the background (resumes one that was cut off)",
    roles: MAKERS,
    body: Note,
    async handle({ actor, params, deps }) {
      const { started, progress } = await startImportJobAs(deps, actor, params.jobId!);
      return json(started ? 202 : 200, progress);
    },
  }),
  route({
    method: "GET",
    path: "/api/imports/{jobId}",
    summary: "An import job's progress (bytes, rows imported and rejected) and its rejected lines, paged",
    roles: MAKERS,
    query: { cursor: "from the previous page", limit: "1-5000" },
    async handle({ actor, params, query, deps }) {
      const job = await importJobInScope(deps, actor, params.jobId!);
      if (query.cursor !== undefined && !/^\d{1,12}$/.test(query.cursor))
        throw new InputError("cursor: not a cursor from this API");
      return importJobProgress(deps.repo, job.jobId, query.cursor, limitOf(query, 5000, 1000));
    },
  }),
  route({
    method: "GET",
    path: "/api/uncontactable",
    summary: "Customers who cannot be reached on a channel (?lostOnly=true: neither phone nor email)",
    roles: ANYONE,
    query: { lostOnly: "true|false", branch: "a branch" },
    async handle({ actor, query, deps }) {
      if (query.branch) assertInScope(actor, `branch ${query.branch}'s list`, query.branch);
      const rows = [];
      for await (const r of uncontactable(deps, {
        branch: actor.branchId ?? query.branch,
        lostOnly: query.lostOnly === "true",
      }))
        rows.push(r);
      return { rows };
    },
  }),
  route({
    method: "GET",
    path: "/api/users",
    summary: "Users and their roles",
    roles: ADMINS,
    async handle({ actor, deps }) {
      const users = await listUsers(deps.repo);
      return { users: users.filter((u) => !actor.branchId || u.branchId === actor.branchId) };
    },
  }),
  route({
    method: "POST",
    path: "/api/users",
    summary: "Add a user (or replace their role) and issue a token (shown once)",
    roles: ADMINS,
    body: NewUser,
    async handle({ actor, body, deps }) {
      const user = body as NewUser;
      const { token } = await addUserAs(deps, actor, user);
      return json(201, { ...user, token });
    },
  }),
  route({
    method: "GET",
    path: "/api/audit/verify",
    summary: "Verify every audit trail: keyed chain, heads and anchor ({intact, entries, problems})",
    roles: ADMINS,
    async handle({ actor, deps }) {
      assertHeadOffice(actor, "verifying the whole audit log");
      const { intact, entries, problems } = await verifyAudit(deps);
      return { intact, entries, problems };
    },
  }),
  ...scheduleRoutes,
  ...taskRoutes,
  ...rewardRoutes,
  ...performanceRoutes,
  ...dryRunRoutes,
];
