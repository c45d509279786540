import { z } from "zod";
import { Campaign } from "#functions/campaign/schema.ts";
import type { AnyRoute } from "./http.ts";
import * as R from "./responses.ts";

/**
 * The OpenAPI 3.1 document, generated: the operations are the router's route table (a route without
 * an entry in OPERATIONS below is listed by `undocumentedRoutes` and fails test/unit/openapi.test.ts),
 * request bodies are the zod schemas the API validates with, response bodies the zod schemas of
 * ./responses.ts, which test/integration/openapi.test.ts holds against real answers of `tiercast serve`.
 */

type Json = Record<string, unknown>;
type Ok = 200 | 201 | 202;
type Err = 400 | 403 | 404 | 409 | 413;

interface OperationDoc {
  tag: Tag;
  description: string;
  ok: Partial<Record<Ok, { description: string; schema: z.ZodType; example?: unknown }>>;
  /** What the op-specific errors mean; 400, 401, 403 (role) and 413 (JSON body) are added from the route. */
  errors?: Partial<Record<Err, string>>;
  /** The request body when it is not the route's own schema (the schedule's id is the path's). */
  request?: z.ZodType;
  requestExample?: unknown;
  /** `text` routes: the media types they stream. */
  media?: Record<string, Json>;
  /** A CSV export (`format=csv`) besides the JSON: its rows, an example, its file name, a cursor header. */
  csv?: { rows: string; example: string; filename: string; cursor?: true };
}

const TAGS = {
  Campaigns: "Campaign definitions: create, read, edit (each edit a new version, back to draft)",
  Lifecycle:
    "Maker-checker: draft → submitted → approved → launching → launched ⇄ paused; cancelled from any state before the end; rejected goes back to draft by an edit. Nobody approves what they created or submitted.",
  Results: "Preview (dry run), funnel with uplift, ledger (one row per recipient decision), targets",
  Customers:
    "Customer imports (streamed, any size), import jobs for nightly exports, recipient lookup, the uncontactable list",
  Events: "Delivery, response and business events, idempotent by eventId",
  Schedules:
    "Recurring and care campaigns: a five-field cron in the bank's time zone over an approved campaign",
  Tasks:
    "The RM workbench: call tasks (an RM's own, a branch manager's branch), outcomes, reassignment and handover, RM books, the corporate contact plan",
  Rewards: "Referral rewards (老带新): listed, exported as CSV for the bank's settlement, marked paid once",
  Admin: "Users and roles, the whole audit log's verification",
  Meta: "Liveness, the signed-in user, this document",
  Tracking:
    "Public, signed: the tracked-link redirect, the open pixel, RFC 8058 one-click unsubscribe, the SMS gateway's webhook. Not under /api; a forged or altered token counts nothing.",
} as const;
type Tag = keyof typeof TAGS;

const NOTE = { note: "ok by me" };
const CAMPAIGN_EXAMPLE = {
  campaignId: "dormant-2027q1",
  name: "Q1 dormant reactivation",
  playbook: "dormant-reactivation",
  segment: { scheme: "retail", tiers: ["potential", "quality"], dormantDays: 180 },
  variants: [
    {
      id: "A",
      tiers: ["potential"],
      channel: "sms",
      template: "{{name|客户}}您好，欢迎回来 {{link}}",
      url: "https://bank.example/welcome",
    },
    { id: "B", tiers: ["quality"], channel: "email", subject: "专属礼遇", template: "<p>{{name}}您好</p>" },
  ],
  holdoutPercent: 5,
  attributionDays: 30,
};
const SUMMARY_EXAMPLE = {
  campaignId: "dormant-2027q1",
  name: "Q1 dormant reactivation",
  playbook: "dormant-reactivation",
  status: "draft",
  version: 1,
  tiers: ["potential", "quality"],
  createdBy: "mia",
  branchId: null,
  approval: null,
  updatedAt: "2027-03-01T02:00:00.000Z",
  summary: null,
  sent: null,
};
const LEDGER_ROW_EXAMPLE = {
  customerId: "C0000102",
  tier: "potential",
  decision: "sent",
  reason: "",
  channel: "sms",
  variant: "A",
  messageId: "sms-mx5105uq-1",
  at: "2027-03-01T02:00:06.389Z",
  dueAt: "",
  stage: "sent",
};

const transition = (
  action: string,
  description: string,
  status: string,
  errors: OperationDoc["errors"] = {},
): OperationDoc => ({
  tag: "Lifecycle",
  description,
  ok: {
    200: {
      description: `the campaign, now ${status}`,
      schema: R.TransitionResult,
      example: {
        ...SUMMARY_EXAMPLE,
        status,
        ...(action === "launch" ? { executionId: "local:dormant-2027q1:v1" } : {}),
      },
    },
  },
  errors: {
    403: "other_branch: another branch's campaign",
    404: "not_found: no such campaign",
    409: "invalid_transition: not allowed from the campaign's status; changed_meanwhile: edited in between, reload",
    ...errors,
  },
  requestExample: NOTE,
});

const ABSENT = {
  404: "not_found: no such campaign",
  403: "other_branch: another branch's campaign",
} as const;

const TASK_EXAMPLE = {
  taskId: "key-care-2027-03.C0000417",
  rmId: "rm017",
  customerId: "C0000417",
  campaignId: "key-care-2027-03",
  status: "open",
  dueAt: "2027-03-05T15:59:59.999Z",
  attempts: 0,
  priority: "high",
  branchId: "BR001",
  context: {
    tier: "key",
    scheme: "retail",
    aumBand: { min: 300000, max: 1000000 },
    campaignName: "Key tier monthly maintenance",
    playbook: "key-maintenance",
    script: "月度维护：致电 王女士，更新KYC档案，了解资产配置需求。",
  },
  createdAt: "2027-03-05T02:00:00.000Z",
};
const TASK_ABSENT = {
  403: "other_branch: another branch's task; other_rm: an RM asking for another RM's task",
  404: "not_found: no such task",
} as const;
const REWARD_EXAMPLE = {
  campaignId: "referral-2027-spring",
  referrerId: "C0000102",
  refereeId: "NEW-0",
  reward: "100元话费",
  at: "2027-03-04T02:00:00.000Z",
  status: "due",
};

const PERF_ROW_EXAMPLE = {
  branchId: "BR001",
  rmId: "RM0001",
  targeted: 449,
  eligible: 329,
  sent: 329,
  delivered: 316,
  engaged: 81,
  responded: 44,
  converted: 31,
  holdout: 22,
  holdoutConverted: 0,
  conversionRate: 0.094225,
  holdoutConversionRate: 0,
  uplift: 0.094225,
  upliftCi95: [-0.056871, 0.130641],
  incrementalConversions: 31,
};

const OPERATIONS: Record<string, OperationDoc> = {
  "GET /api/health": {
    tag: "Meta",
    description: "Liveness of the API; no token needed.",
    ok: { 200: { description: "up", schema: R.Health, example: { ok: true } } },
  },
  "GET /api/openapi.json": {
    tag: "Meta",
    description:
      "This document, generated from the router's route table and the zod schemas the API validates with.",
    ok: { 200: { description: "the OpenAPI 3.1 document", schema: R.OpenApiDocument } },
  },
  "GET /api/me": {
    tag: "Meta",
    description:
      "Who the token belongs to: user id, role and (for a branch user) branch; and what the console needs of the bank's config (time zone, tier schemes, large-CD threshold).",
    ok: {
      200: {
        description: "the user, the bank's time zone, tier schemes and large-CD threshold",
        schema: R.Me,
        example: {
          userId: "bob",
          role: "marketer",
          branchId: "BR001",
          timeZone: "Asia/Shanghai",
          tierSchemes: { retail: ["mass", "potential", "quality", "key", "private"] },
          largeCdMin: 200000,
        },
      },
    },
  },
  "GET /api/campaigns": {
    tag: "Campaigns",
    description:
      "Every campaign with its status, newest change first. A branch user sees only their branch's.",
    ok: {
      200: {
        description: "the campaigns",
        schema: R.CampaignList,
        example: { campaigns: [SUMMARY_EXAMPLE] },
      },
    },
  },
  "POST /api/campaigns": {
    tag: "Campaigns",
    description:
      "Creates a draft from a campaign file (CONTRACT.md). An invalid file is refused with every problem, field by field (400 invalid_campaign). A branch user's audience is confined to their branch.",
    ok: {
      201: { description: "the new draft, version 1", schema: R.CampaignSummary, example: SUMMARY_EXAMPLE },
    },
    errors: {
      400: "invalid_campaign: every problem in `problems`; bad_input: the body is not JSON",
      403: "other_branch: segment.branches names another branch",
      409: "exists: a campaign with this id exists (edit it with PUT)",
    },
    requestExample: CAMPAIGN_EXAMPLE,
  },
  "GET /api/campaigns/{campaignId}": {
    tag: "Campaigns",
    description: "One campaign: its definition, status, version and approval.",
    ok: {
      200: {
        description: "the campaign",
        schema: R.CampaignDetail,
        example: { ...SUMMARY_EXAMPLE, campaign: CAMPAIGN_EXAMPLE },
      },
    },
    errors: ABSENT,
  },
  "PUT /api/campaigns/{campaignId}": {
    tag: "Campaigns",
    description:
      "Edits a campaign before launch: a new version, back to draft, any approval dropped (a launch needs an approval of the current version).",
    ok: {
      200: {
        description: "the new version",
        schema: R.CampaignSummary,
        example: { ...SUMMARY_EXAMPLE, version: 2 },
      },
    },
    errors: {
      ...ABSENT,
      400: "invalid_campaign: every problem in `problems`; bad_input: campaignId in the body is not the path's",
      409: "not_editable: launched, cancelled or finished; changed_meanwhile: edited in between, reload",
    },
    requestExample: CAMPAIGN_EXAMPLE,
  },
  "POST /api/preview": {
    tag: "Results",
    description:
      "Dry run of a campaign body: decides every recipient and sends nothing. Counts per tier and exclusion reason, deferred sends, SMS parts and cost, sample messages (contacts masked).",
    ok: { 200: { description: "the preview", schema: R.Preview } },
    errors: {
      400: "invalid_campaign: every problem in `problems`",
      403: "other_branch: segment.branches names another branch",
    },
    requestExample: CAMPAIGN_EXAMPLE,
  },
  "GET /api/campaigns/{campaignId}/preview": {
    tag: "Results",
    description: "Dry run of a saved campaign, at the runtime's clock.",
    ok: { 200: { description: "the preview", schema: R.Preview } },
    errors: ABSENT,
  },
  "POST /api/estimate": {
    tag: "Results",
    description:
      "The builder's sampled estimate of a campaign body: decides a deterministic random sample of the segment (at most ~4,000 customers plus one per tier shard, whatever the segment's size) and scales every count to the population with a 95% interval (`{estimate, low, high}`). Says it is an estimate, its sample and what it cannot see; `method: exact` with zero-width intervals when the whole segment was read. Writes nothing.",
    ok: { 200: { description: "the estimate", schema: R.Estimate } },
    errors: {
      400: "invalid_campaign: every problem in `problems`",
      403: "other_branch: segment.branches names another branch",
    },
    requestExample: CAMPAIGN_EXAMPLE,
  },
  "GET /api/campaigns/{campaignId}/estimate": {
    tag: "Results",
    description: "The sampled estimate of a saved campaign, at the runtime's clock.",
    ok: { 200: { description: "the estimate", schema: R.Estimate } },
    errors: ABSENT,
  },
  "POST /api/dry-runs": {
    tag: "Results",
    description:
      "Starts the exact dry run of a campaign body (the builder's exact count) as a background job: every recipient decided as a launch would, nothing sent. Poll GET /api/dry-runs/{jobId} for its progress and result.",
    ok: { 202: { description: "started", schema: R.DryRun } },
    errors: {
      400: "invalid_campaign: every problem in `problems`",
      403: "other_branch: segment.branches names another branch",
      404: "not_found: dry-run jobs cannot run on this deployment",
    },
    requestExample: CAMPAIGN_EXAMPLE,
  },
  "POST /api/campaigns/{campaignId}/dry-runs": {
    tag: "Results",
    description:
      "Starts the exact dry run of a saved campaign's current version as a background job (the approval page's). Poll GET /api/dry-runs/{jobId}.",
    ok: { 202: { description: "started", schema: R.DryRun } },
    errors: ABSENT,
  },
  "GET /api/dry-runs/{jobId}": {
    tag: "Results",
    description:
      "A dry run's progress (tier shards read of all, pages, customers read, recipients decided) and, once done, its result (the preview's shape).",
    ok: { 200: { description: "the job", schema: R.DryRun } },
    errors: { 403: "other_branch: another branch's dry run", 404: "not_found: no such dry run" },
  },
  "GET /api/campaigns/{campaignId}/dry-run": {
    tag: "Results",
    description:
      "The approval view's dry run: the latest one of the campaign's current definition (`state: current`), else the latest of an older one (`older_version`), else none (`missing`). Read from the stored job, never run per request.",
    ok: { 200: { description: "the latest dry run", schema: R.CampaignDryRun } },
    errors: ABSENT,
  },
  "GET /api/campaigns/{campaignId}/changes": {
    tag: "Campaigns",
    description:
      "The approver's diff: every field of the current version that differs from the version last approved (from the audit trail), with its value before and after.",
    ok: {
      200: {
        description: "the changes",
        schema: R.CampaignChanges,
        example: {
          campaignId: "dormant-2027q1",
          version: 3,
          lastApproved: { version: 2, by: "ari", at: "2027-03-01T02:00:00.000Z" },
          changes: [
            { path: "variants[A].template", before: "{{name}}您好", after: "{{name}}您好，欢迎回来" },
          ],
        },
      },
    },
    errors: ABSENT,
  },
  "POST /api/campaigns/{campaignId}/submit": transition(
    "submit",
    "Submits a draft (or a rejected campaign) for approval.",
    "submitted",
  ),
  "POST /api/campaigns/{campaignId}/approve": transition(
    "approve",
    "Approves the submitted version. Nobody approves a campaign they created or submitted, admins included.",
    "approved",
    { 403: "self_approval: you created or submitted it; other_branch: another branch's campaign" },
  ),
  "POST /api/campaigns/{campaignId}/reject": transition(
    "reject",
    "Rejects the submitted version, with a reason in `note`; an edit takes it back to draft.",
    "rejected",
  ),
  "POST /api/campaigns/{campaignId}/launch": transition(
    "launch",
    "Starts the launch workflow (Step Functions on AWS, the embedded interpreter locally) for the approved version.",
    "launching",
    {
      409: "not_approved: the current version has no approval; invalid_transition: not approved; changed_meanwhile",
    },
  ),
  "POST /api/campaigns/{campaignId}/pause": transition(
    "pause",
    "Pauses a launched campaign: its sends are deferred and looked at again every 5 minutes.",
    "paused",
  ),
  "POST /api/campaigns/{campaignId}/resume": transition("resume", "Resumes a paused campaign.", "launched"),
  "POST /api/campaigns/{campaignId}/cancel": transition(
    "cancel",
    "Cancels a campaign before its end: sends not yet made are dropped (campaign_cancelled), never sent.",
    "cancelled",
  ),
  "GET /api/campaigns/{campaignId}/audit": {
    tag: "Campaigns",
    description: "The campaign's audit trail (append-only, HMAC-chained), with whether it is intact.",
    ok: { 200: { description: "the trail", schema: R.AuditTrail } },
    errors: ABSENT,
  },
  "GET /api/campaigns/{campaignId}/funnel": {
    tag: "Results",
    description:
      "Funnel per tier, variant, channel and day (cumulative stages); unique events as they happened (opens, clicks, replies) side by side; uplift against the holdout with its 95% interval; targets with progress.",
    ok: { 200: { description: "the funnel", schema: R.Funnel } },
    errors: ABSENT,
  },
  "GET /api/campaigns/{campaignId}/ledger": {
    tag: "Results",
    description:
      "One row per recipient decision, paged by shard: pass `next` (JSON) or the `X-Next-Cursor` header (CSV) as `cursor` for the next page. `format=csv` returns an export page (the header row on the first page only).",
    ok: {
      200: {
        description: "a page of the ledger",
        schema: R.LedgerPage,
        example: { rows: [LEDGER_ROW_EXAMPLE], next: "0:C0000102" },
      },
    },
    csv: {
      rows: "RFC 4180 rows of the ledger's columns; the header row on the first page",
      example: `customerId,tier,decision,reason,channel,variant,messageId,at,dueAt,stage\r\nC0000102,potential,sent,,sms,A,sms-mx5105uq-1,2027-03-01T02:00:06.389Z,,sent\r\n`,
      filename: "<campaign>-ledger.csv",
      cursor: true,
    },
    errors: {
      ...ABSENT,
      400: "bad_input: limit not 1-5000, a cursor not from this API",
      404: "not_found: no such campaign, or `customer` is not in its audience",
    },
  },
  "GET /api/campaigns/{campaignId}/targets": {
    tag: "Results",
    description: "Targets by quarter, month or ISO week, with progress from the funnel counters.",
    ok: { 200: { description: "the targets", schema: R.Targets } },
    errors: ABSENT,
  },
  "PUT /api/campaigns/{campaignId}/targets": {
    tag: "Results",
    description: "Sets the target of a period, tier and stage (replacing one there).",
    ok: { 200: { description: "every target of the campaign", schema: R.Targets } },
    errors: {
      ...ABSENT,
      400: "bad_input: a period that is not 2027Q1, 2027-03 or 2027-W09, a stage or value out of range",
    },
    requestExample: { period: "2027Q1", stage: "converted", value: 120, tier: "quality" },
  },
  "GET /api/customers/{customerId}/decisions": {
    tag: "Customers",
    description:
      "Recipient lookup: every campaign decision about one customer, with its reason; contacts masked.",
    ok: { 200: { description: "the customer and their decisions", schema: R.CustomerDecisions } },
    errors: { 403: "other_branch: another branch's customer", 404: "not_found: no such customer" },
  },
  "POST /api/customers/import": {
    tag: "Customers",
    description:
      "Upserts customers from the streamed body: JSONL (default), CSV (`format=csv`, UTF-8 with or without BOM, or GBK/GB18030, detected or `encoding=`) or .xlsx (`format=xlsx`, `sheet=`). Any size; every rejected line is reported. A branch user's import keeps only their branch's rows.",
    ok: {
      200: {
        description: "rows stored and lines rejected",
        schema: R.ImportReport,
        example: { imported: 2, rejected: [{ line: 3, error: "aum: must be a number" }] },
      },
    },
    errors: {
      400: "bad_input: an unknown format; bad_encoding: not text of a known encoding (nothing stored)",
      413: "too_large",
    },
    media: {
      "application/x-ndjson": {
        schema: { type: "string" },
        example: '{"customerId":"C1","aum":52000,"phone":"13800138000"}\n',
      },
      "text/csv": { schema: { type: "string" }, example: "customerId,aum,phone\nC1,52000,13800138000\n" },
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        schema: {
          type: "string",
          contentMediaType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        },
      },
    },
  },
  "POST /api/events": {
    tag: "Events",
    description:
      "Ingests events (CONTRACT.md's event record) from a streamed JSONL body, CSV/.xlsx (`format=`), or a JSON array (at most 6 MB). Idempotent by eventId. Bank-wide: head office's admins only.",
    ok: {
      200: {
        description: "accepted, duplicates and rejected lines",
        schema: R.IngestReport,
        example: { accepted: 1, duplicates: 0, rejected: [{ line: 2, error: "invalid JSON" }] },
      },
    },
    errors: {
      400: "bad_input: a JSON array that does not parse, an unknown format",
      403: "forbidden: not an admin; other_branch: a branch admin",
      413: "too_large: a JSON array over 6 MB (send JSONL: any size)",
    },
    media: {
      "application/x-ndjson": {
        schema: { type: "string" },
        example:
          '{"eventId":"e-1","type":"replied","customerId":"C1","campaignId":"dormant-2027q1","at":"2027-03-01T02:00:00Z"}\n',
      },
      "application/json": {
        schema: { type: "array", items: { type: "object" } },
        example: [
          {
            eventId: "e-1",
            type: "opened",
            customerId: "C1",
            campaignId: "dormant-2027q1",
            at: "2027-03-01T02:00:00Z",
          },
        ],
      },
      "text/csv": { schema: { type: "string" } },
    },
  },
  "POST /api/imports": {
    tag: "Customers",
    description:
      "Starts an import job for a nightly export: returns a presigned URL to PUT the file to (any size), then POST …/start.",
    ok: { 201: { description: "the job, awaiting its upload", schema: R.ImportJobCreated } },
    errors: { 404: "not_found: import jobs are not configured on this deployment" },
    requestExample: { format: "csv", encoding: "gbk" },
  },
  "POST /api/imports/{jobId}/start": {
    tag: "Customers",
    description:
      "Runs an uploaded job in the background (202), or resumes one that was cut off; a finished job only reports (200).",
    ok: {
      202: { description: "started: poll GET /api/imports/{jobId}", schema: R.ImportJobProgress },
      200: { description: "already finished: its progress", schema: R.ImportJobProgress },
    },
    errors: {
      403: "other_branch: another branch's job",
      404: "not_found: no such job",
      409: "conflict: nothing uploaded yet",
    },
  },
  "GET /api/imports/{jobId}": {
    tag: "Customers",
    description:
      "An import job's progress (bytes, rows imported and rejected) and its rejected lines, paged by `cursor`.",
    ok: { 200: { description: "the progress", schema: R.ImportJobProgress } },
    errors: {
      400: "bad_input: a cursor not from this API",
      403: "other_branch: another branch's job",
      404: "not_found: no such job",
    },
  },
  "GET /api/uncontactable": {
    tag: "Customers",
    description:
      "Customers a channel cannot reach (no valid phone or email); `lostOnly=true`: neither (the red list).",
    ok: { 200: { description: "the customers", schema: R.Uncontactable } },
    errors: { 403: "other_branch: another branch's list" },
  },
  "GET /api/users": {
    tag: "Admin",
    description: "Users and their roles (a branch admin sees their branch's).",
    ok: { 200: { description: "the users", schema: R.UserList } },
  },
  "POST /api/users": {
    tag: "Admin",
    description:
      "Adds a user (or replaces their role and branch) and issues a new token, shown once; the previous token stops working.",
    ok: {
      201: {
        description: "the user and their token",
        schema: R.UserCreated,
        example: { userId: "mia", role: "marketer", token: "tc_FQXQHtsONP7HEmHI9WtCH7QmECsaPTxX" },
      },
    },
    errors: { 403: "other_branch: a branch admin adding a user of another branch, or of head office" },
    requestExample: { userId: "mia", role: "marketer" },
  },
  "GET /api/audit/verify": {
    tag: "Admin",
    description:
      "Verifies every audit trail: the keyed chain, the heads and the anchor outside the table. Head office only.",
    ok: {
      200: {
        description: "the verdict",
        schema: R.AuditVerification,
        example: { intact: true, entries: 24, problems: [] },
      },
    },
    errors: { 403: "forbidden: not an admin; other_branch: a branch admin" },
  },
  "GET /api/schedules": {
    tag: "Schedules",
    description: "Schedules with their next run (a branch user sees their branch's).",
    ok: { 200: { description: "the schedules", schema: R.ScheduleList } },
  },
  "PUT /api/schedules/{scheduleId}": {
    tag: "Schedules",
    description:
      "Creates or replaces a schedule: a five-field cron in the bank's time zone (`0 10 1 * *`) over an approved campaign. An invalid cron is refused with every problem.",
    ok: { 200: { description: "the schedule with its next run", schema: R.ScheduleRecord } },
    errors: {
      400: "invalid_schedule: every problem in `problems`",
      403: "other_branch: the schedule or its campaign is another branch's",
      404: "not_found: no such campaign",
    },
    request: R.ScheduleBody,
    requestExample: { campaignId: "key-monthly", cron: "0 10 1 * *" },
  },
  "DELETE /api/schedules/{scheduleId}": {
    tag: "Schedules",
    description: "Deletes a schedule; runs already started continue.",
    ok: { 200: { description: "deleted", schema: R.ScheduleDeleted, example: { deleted: "key-monthly" } } },
    errors: { 403: "other_branch: another branch's schedule", 404: "not_found: no such schedule" },
  },
  "POST /api/schedules/run-due": {
    tag: "Schedules",
    description:
      "Runs every schedule that is due now (what the scheduler does each minute); each firing starts once. Head office only.",
    ok: { 200: { description: "the runs started", schema: R.DueRuns } },
    errors: { 403: "forbidden: not an admin; other_branch: a branch admin" },
  },
  "GET /api/tasks": {
    tag: "Tasks",
    description:
      "RM call tasks, due first, a page at a time: an RM sees their own, a branch manager their branch's (one RM's with `rm=`), head office every task (shard by shard, due first within each). `status=open` (default), `done` or `all`; `overdue=true`: open and past due; `due=YYYY-MM-DD` (by the end of that day, bank time) or an ISO instant: due at or before it. `limit` (1-1000, default 500) and `cursor` (the previous page's `next`).",
    ok: {
      200: {
        description: "a page of tasks",
        schema: R.TaskList,
        example: { tasks: [TASK_EXAMPLE], next: null },
      },
    },
    errors: {
      400: "bad_input: status not open, done or all; a bad due, overdue, limit or cursor",
      403: "other_rm: an RM asking for another RM's tasks",
    },
  },
  "GET /api/rms": {
    tag: "Tasks",
    description:
      "The branch manager's view of the branch's RMs: every `rm` user of the branch and every RM holding an open task there, with their open and overdue counts (most overdue first). Head office: the bank's, or one branch's with `branch=`.",
    ok: {
      200: {
        description: "the branch's RMs",
        schema: R.RmList,
        example: {
          branchId: "BR001",
          rms: [{ rmId: "rm017", branchId: "BR001", user: true, open: 12, overdue: 3 }],
        },
      },
    },
    errors: { 403: "other_branch: another branch's RMs" },
  },
  "GET /api/tasks/{taskId}": {
    tag: "Tasks",
    description:
      "One task with the customer's name and phone for the call: the RM whose task it is sees the number in full, anyone else masked.",
    ok: {
      200: {
        description: "the task and its customer",
        schema: R.TaskDetail,
        example: {
          ...TASK_EXAMPLE,
          customer: {
            customerId: "C0000417",
            name: "王女士",
            phone: "13800138000",
            tier: "key",
            lastTransactionAt: "2027-02-11T06:20:00.000Z",
          },
        },
      },
    },
    errors: TASK_ABSENT,
  },
  "POST /api/tasks/{taskId}/complete": {
    tag: "Tasks",
    description:
      "Records a call's outcome (CONTRACT.md `tasks complete`): `no_answer` logs an attempt and keeps the task open; any other outcome closes it. The same outcome again changes nothing; another outcome for a closed task is 409. A contact outcome converts the maintenance campaign's recipient; `wrong_number` closes the phone.",
    ok: {
      200: {
        description: "the task's status after the call",
        schema: R.TaskCompleted,
        example: { taskId: TASK_EXAMPLE.taskId, status: "done", outcome: "appointment", attempts: 1 },
      },
    },
    errors: {
      ...TASK_ABSENT,
      400: "bad_input: an outcome not reached, appointment, interested, declined, no_answer or wrong_number; a note over 2000 characters",
      409: "task_closed: closed with another outcome; task_changed: changed meanwhile (closed, or reassigned), reload",
    },
    requestExample: { outcome: "appointment", note: "周五下午到网点面谈" },
  },
  "POST /api/tasks/{taskId}/reassign": {
    tag: "Tasks",
    description:
      "Hands an open task to another RM of the task's branch (a user with the rm role there); the task keeps who had it in `handovers`. To the RM who has it already: unchanged.",
    ok: {
      200: {
        description: "the task, now the other RM's",
        schema: R.Task,
        example: {
          ...TASK_EXAMPLE,
          rmId: "rm018",
          handovers: [{ from: "rm017", to: "rm018", by: "bm1", at: "2027-03-05T03:00:00.000Z" }],
        },
      },
    },
    errors: {
      403: "other_branch: another branch's task",
      404: "not_found: no such task",
      400: "bad_input: `to` is not an RM of the task's branch",
      409: "task_closed: only open tasks can be reassigned; task_changed: changed meanwhile, reload",
    },
    requestExample: { to: "rm018" },
  },
  "POST /api/rms/{rmId}/handover": {
    tag: "Tasks",
    description:
      "An RM leaves or goes on leave: every open task of theirs in the caller's scope goes to another RM of the branch, each a reassignment (audited, kept in the task's `handovers`), and so do the customers of their book in the branch (the caller's; head office: the new RM's): their `rmId` moves, the old RM is kept in the customer's `rmHistory`, and one audit entry (`books` / `rm.<rmId>`) names them. Closed tasks stay theirs; customers of other branches stay in their book.",
    ok: {
      200: {
        description: "the tasks and customers handed over",
        schema: R.Handover,
        example: {
          from: "rm017",
          to: "rm018",
          moved: 1,
          taskIds: [TASK_EXAMPLE.taskId],
          customers: 412,
          customersKept: 0,
        },
      },
    },
    errors: {
      400: "bad_input: `to` is the same RM, or not an RM of the branch",
      404: "not_found: the RM has no open tasks nor customers you can hand over",
      409: "task_changed: a task changed meanwhile, run it again",
    },
    requestExample: { to: "rm018" },
  },
  "GET /api/books": {
    tag: "Tasks",
    description:
      "RM books: potential and quality customers without an RM, and RMs whose book is over the cap (`cap=`, default the config's rm.bookCap). A branch user's: their branch's; head office names one with `branch=`.",
    ok: {
      200: {
        description: "the books report",
        schema: R.BooksReport,
        example: {
          cap: 300,
          customers: 1502,
          rms: 5,
          unassigned: 1,
          unassignedByTier: { potential: 1 },
          overCap: [{ rmId: "rm017", customers: 320, over: 20 }],
          unassignedCustomers: [{ customerId: "NEW-1", tier: "potential", branchId: "BR001" }],
        },
      },
    },
    errors: {
      400: "bad_input: cap not an integer ≥ 1",
      403: "other_branch: another branch's books",
    },
  },
  "GET /api/plans/{month}": {
    tag: "Tasks",
    description:
      "The corporate contact plan of a month (YYYY-MM): contacts required, done and missing per corporate class × role × branch. A branch user's: their branch's.",
    ok: {
      200: {
        description: "the plan's progress",
        schema: R.PlanReport,
        example: {
          month: "2027-03",
          rows: [
            {
              class: "class1",
              role: "rm",
              branchId: "BR001",
              required: 9,
              done: 2,
              unassigned: 0,
              missing: 7,
            },
          ],
        },
      },
    },
    errors: {
      400: "bad_input: month not YYYY-MM",
      403: "other_branch: another branch's plan",
    },
  },
  "GET /api/book": {
    tag: "Tasks",
    description:
      "An RM's book, paged by `cursor`: their customers, contacts masked. An RM sees their own; a branch manager or head office names the RM with `rm=` (a branch manager sees only their branch's customers).",
    ok: {
      200: {
        description: "a page of the book",
        schema: R.Book,
        example: {
          rmId: "rm017",
          customers: [
            {
              customerId: "C0000417",
              name: "王女士",
              tier: "key",
              branchId: "BR001",
              phone: "138****8000",
              lastTransactionAt: "2027-02-11T06:20:00.000Z",
              products: ["deposit", "fund"],
            },
          ],
          next: null,
        },
      },
    },
    errors: {
      400: "bad_input: no `rm` named (branch manager, head office), limit not 1-1000",
      403: "other_rm: an RM asking for another RM's book",
    },
  },
  "GET /api/rewards": {
    tag: "Rewards",
    description:
      "Referral rewards of one drive (`campaign=`) or of every referral drive in the caller's scope, by date; `status=due`, `paid` or `all` (default). `format=csv` is the settlement export (campaignId, referrerId, refereeId, reward, at, status, paidAt, reference).",
    ok: {
      200: { description: "the rewards", schema: R.RewardList, example: { rewards: [REWARD_EXAMPLE] } },
    },
    csv: {
      rows: "RFC 4180 rows of the settlement columns, with the header row",
      example:
        "campaignId,referrerId,refereeId,reward,at,status,paidAt,reference\r\nreferral-2027-spring,C0000102,NEW-0,100元话费,2027-03-04T02:00:00.000Z,due,,\r\n",
      filename: "rewards.csv",
    },
    errors: {
      ...ABSENT,
      400: "bad_input: status not due, paid or all",
    },
  },
  "POST /api/rewards/{campaignId}/{referrerId}/pay": {
    tag: "Rewards",
    description:
      "Marks a referral reward paid after the bank's settlement, with its reference (audited). Paying it again with the same reference changes nothing; another reference for a paid reward is 409, never a second payment.",
    ok: {
      200: {
        description: "the reward, paid",
        schema: R.Reward,
        example: {
          ...REWARD_EXAMPLE,
          status: "paid",
          paidAt: "2027-03-10T02:00:00.000Z",
          paidBy: "ada",
          reference: "S-1",
        },
      },
    },
    errors: {
      403: "other_branch: another branch's drive",
      404: "not_found: no such drive, or no reward of the drive for the referrer",
      409: "reward_paid: paid already with another reference",
    },
    requestExample: { reference: "S-1" },
  },
  "GET /api/performance": {
    tag: "Results",
    description:
      "The funnel and the uplift against the holdout by branch (`by=branch`, default) or by RM (`by=rm`), of one campaign (`campaign=`) or of every campaign, from the performance counters (the ledger row's branch and RM at decision, counted per day). `period=` (quarter, month or ISO week) keeps the stage moves of those days. A branch user sees only their branch (another is 403); an RM only their own figures. `format=csv` is the export.",
    ok: {
      200: {
        description: "the performance rows and their total",
        schema: R.PerformanceReport,
        example: {
          by: "rm",
          campaignId: "dormant-2027q1",
          branchId: "BR001",
          rows: [PERF_ROW_EXAMPLE],
          total: { ...PERF_ROW_EXAMPLE, rmId: undefined },
          method: "performance counters per branch × RM × day × stage",
        },
      },
    },
    csv: {
      rows: "RFC 4180 rows: branchId, rmId, the seven stages, holdout, holdoutConverted, the rates, uplift and its interval, incremental conversions",
      example:
        "branchId,rmId,targeted,eligible,sent,delivered,engaged,responded,converted,holdout,holdoutConverted,conversionRate,holdoutConversionRate,uplift,upliftLow,upliftHigh,incrementalConversions\nBR001,RM0001,449,329,329,316,81,44,31,22,0,0.094225,0,0.094225,-0.056871,0.130641,31\n",
      filename: "performance-by-rm.csv",
    },
    errors: {
      400: "bad_input: by not branch or rm, a period that is not a quarter, month or ISO week",
      403: "other_branch: another branch's performance; other_rm: an RM asking for another RM's",
      404: "not_found: no such campaign",
    },
  },
  "GET /api/indicators/{period}/{stage}": {
    tag: "Results",
    description:
      "The bank's indicator for a quarter and a funnel stage, cascaded quarter → month → week and bank → branch → RM, each figure with its progress from the performance counters (the treated group's stage moves on the figure's days). A week across two months has a part in each (`2027-03/2027-W13`). A branch user sees their branch's figures; an RM their own.",
    ok: {
      200: {
        description: "the cascade with progress",
        schema: R.IndicatorProgress,
        example: {
          period: "2027Q1",
          stage: "converted",
          value: 1000,
          split: "customers",
          setAt: "2027-01-04T02:00:00.000Z",
          rows: [
            {
              level: "branch",
              branchId: "BR001",
              period: "2027-03",
              from: "2027-03-01",
              to: "2027-03-31",
              target: 218,
              actual: 57,
              progress: 26.1,
            },
          ],
        },
      },
    },
    errors: {
      400: "bad_input: level or grain not one of theirs",
      403: "other_branch: another branch's figures; other_rm: another RM's",
      404: "not_found: no indicator set for the quarter and stage",
    },
  },
  "PUT /api/indicators/{period}/{stage}": {
    tag: "Results",
    description:
      "Sets the bank's indicator for a quarter (head office) and cascades it: months take equal thirds, weeks the days they hold of each month, branches and RMs their share of customers (`split: customers`, default) or equal shares, every split by largest remainder so each level adds up exactly to the one above. Replaces the quarter's cascade; audited. Every problem is listed at once.",
    ok: {
      200: {
        description: "the whole cascade",
        schema: R.IndicatorPlan,
        example: {
          period: "2027Q1",
          stage: "converted",
          value: 1000,
          split: "equal",
          setAt: "2027-01-04T02:00:00.000Z",
          setBy: "ada",
          nodes: [
            {
              level: "bank",
              quarter: 1000,
              months: { "2027-01": 334, "2027-02": 333, "2027-03": 333 },
              weeks: { "2027-01": { "2026-W53": 33, "2027-W01": 75 } },
            },
          ],
        },
      },
    },
    errors: {
      400: "bad_input: the period not a quarter, an unknown stage, a value not a positive integer, an unknown split, no customers to split over",
      403: "other_branch: a branch user cannot set the bank's indicator",
    },
    requestExample: { value: 1000, split: "customers" },
  },
  "PUT /api/indicators/{period}/{stage}/branches/{branchId}": {
    tag: "Results",
    description:
      "A branch manager re-splits their branch's share of a quarter's indicator among its RMs by hand (head office: any branch's). `rms` names every RM with a share (an `rm` user or staff member of the branch, or an RM the cascade gave a share; a new RM can be given one); the shares must add up to the branch's quarter. The branch's months and week parts, and every figure above the branch, stay as they were: each RM's months and weeks are a controlled rounding against the branch's. Audited (`split`, the shares before and after); a later set of the quarter replaces it. Every problem is listed at once.",
    ok: {
      200: {
        description: "the branch and its RMs' new figures",
        schema: R.IndicatorSplit,
        example: {
          period: "2027Q1",
          stage: "converted",
          branchId: "BR001",
          nodes: [
            {
              level: "branch",
              branchId: "BR001",
              quarter: 120,
              months: { "2027-01": 40, "2027-02": 40, "2027-03": 40 },
              weeks: { "2027-01": { "2026-W53": 4, "2027-W01": 9 } },
              rmSplit: { by: "bm1", at: "2027-01-05T02:00:00.000Z" },
            },
            {
              level: "rm",
              branchId: "BR001",
              rmId: "rm017",
              quarter: 80,
              months: { "2027-01": 27, "2027-02": 27, "2027-03": 26 },
              weeks: { "2027-01": { "2026-W53": 3, "2027-W01": 6 } },
            },
          ],
        },
      },
    },
    errors: {
      400: "bad_input: the period not a quarter, an unknown stage, the shares not adding up to the branch's quarter, an RM not of the branch, an RM named twice, a share not a whole number ≥ 0",
      403: "other_branch: another branch's indicator; forbidden: an RM",
      404: "not_found: no indicator for that stage and quarter",
      409: "indicator_busy: someone else is re-splitting this branch's share now",
    },
    requestExample: {
      rms: [
        { rmId: "rm017", quarter: 80 },
        { rmId: "rm018", quarter: 40 },
      ],
    },
  },
  "POST /api/books/assign": {
    tag: "Tasks",
    description:
      "RM book rules A–D (000:640): A every customer with an RM keeps them; B the RMs' claims (`claims`), each refused with its reason and place (already another RM's, another branch's RM, a full book); C the unclaimed customers of `tiers` (default potential and quality), highest tier first, each to the RM of their branch with the smallest book; D no claim or assignment takes a book past `cap` (default rm.bookCap). Then the customers still without an RM (no RM in the branch, or every book full) and the RMs over the cap. A branch manager's run is their branch's. `dryRun` writes nothing; a run is audited.",
    ok: {
      200: {
        description: "what the rules did",
        schema: R.BooksAssignment,
        example: {
          cap: 800,
          tiers: ["quality", "potential"],
          dryRun: false,
          customers: 1502,
          kept: 1400,
          claimed: 1,
          assigned: 100,
          written: 101,
          skipped: 0,
          rejected: [
            {
              line: 2,
              customerId: "C0000417",
              rmId: "rm018",
              error: "customer C0000417 keeps RM rm017 (rule A)",
            },
          ],
          unassigned: 1,
          unassignedByTier: { potential: 1 },
          unassignedCustomers: [
            { customerId: "NEW-9", tier: "potential", branchId: "BR009", reason: "no_rm_in_branch" },
          ],
          overCap: [],
          byRm: [{ rmId: "rm017", claimed: 1, assigned: 50, book: 751 }],
          assignments: [{ customerId: "NEW-1", rmId: "rm017", rule: "B", tier: "quality", line: 1 }],
        },
      },
    },
    errors: {
      400: "bad_input: a tier that is not a retail tier",
      403: "forbidden: an RM cannot assign books",
    },
    requestExample: { claims: [{ customerId: "NEW-1", rmId: "rm017" }], dryRun: true },
  },
};

/** Routes of the router without an entry in OPERATIONS: a test fails on each. */
export const undocumentedRoutes = (routes: AnyRoute[]) =>
  routes.map((r) => `${r.method} ${r.path}`).filter((k) => !OPERATIONS[k]);

/** zod → JSON Schema 2020-12 (OpenAPI 3.1's dialect); named schemas (`.meta({id})`) go to components. */
function converter() {
  const components: Record<string, Json> = {};
  const hoist = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(hoist);
    if (!value || typeof value !== "object") return value;
    const out: Json = {};
    for (const [k, v] of Object.entries(value as Json)) {
      if (k === "$schema" || k === "$defs") continue;
      if (k === "$ref" && typeof v === "string") out[k] = v.replace("#/$defs/", "#/components/schemas/");
      else if (k === "additionalProperties" && v === false)
        continue; // open: fields are added (CONTRACT.md)
      else
        out[k] =
          k === "properties"
            ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, hoist(s)]))
            : hoist(v);
    }
    return out;
  };
  const convert = (schema: z.ZodType, io: "input" | "output"): Json => {
    const raw = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as Json;
    for (const [id, def] of Object.entries((raw.$defs ?? {}) as Record<string, Json>))
      components[id] ??= hoist(def) as Json;
    return hoist(raw) as Json;
  };
  return { convert, components };
}

const errorExample = (code: string, message: string) => ({ error: code, message });
const firstCode = (text: string) => /^([a-z_]+):/.exec(text)?.[1] ?? "bad_input";

function errorResponse(description: string, example: Json): Json {
  return {
    description,
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" }, example } },
  };
}

function operation(r: AnyRoute, convert: ReturnType<typeof converter>["convert"]): Json {
  const key = `${r.method} ${r.path}`;
  const doc: OperationDoc = OPERATIONS[key] ?? {
    tag: "Meta",
    description: "(not yet described)",
    ok: { 200: { description: "OK", schema: z.unknown() } },
  };
  const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    description: "an id (at most 256 characters, no control characters)",
    schema: { type: "string", maxLength: 256 },
  }));
  const query = Object.entries(r.query ?? {}).map(([name, description]) => ({
    name,
    in: "query",
    required: false,
    description,
    schema: { type: "string", maxLength: 2048 },
  }));
  const jsonBody = r.body !== undefined && r.body !== "text";
  const requestBody =
    r.body === "text"
      ? { required: true, content: doc.media ?? { "text/plain": { schema: { type: "string" } } } }
      : jsonBody
        ? {
            required: !(r.body as z.ZodType).safeParse(undefined).success,
            content: {
              "application/json": {
                schema:
                  r.body === Campaign
                    ? { $ref: "#/components/schemas/CampaignFile" }
                    : convert(doc.request ?? (r.body as z.ZodType), "input"),
                ...(doc.requestExample ? { example: doc.requestExample } : {}),
              },
            },
          }
        : undefined;

  const responses: Record<string, Json> = {};
  for (const [status, ok] of Object.entries(doc.ok)) {
    const content: Json = {
      "application/json": {
        schema: convert(ok.schema, "output"),
        ...(ok.example ? { example: ok.example } : {}),
      },
    };
    if (doc.csv)
      content["text/csv"] = {
        schema: { type: "string", description: doc.csv.rows },
        example: doc.csv.example,
      };
    responses[status] = {
      description: ok.description,
      ...(doc.csv
        ? {
            headers: {
              ...(doc.csv.cursor
                ? {
                    "X-Next-Cursor": {
                      description: "CSV pages: the cursor of the next page (absent on the last)",
                      schema: { type: "string" },
                    },
                  }
                : {}),
              "Content-Disposition": {
                description: `CSV: attachment; filename="${doc.csv.filename}"`,
                schema: { type: "string" },
              },
            },
          }
        : {}),
      content,
    };
  }
  const errors: Partial<Record<number, string>> = { ...doc.errors };
  errors[400] ??=
    "bad_input: a path id over 256 characters or with control characters, a query value over 2048 characters";
  if (jsonBody && !errors[400]?.includes("body"))
    errors[400] = `${errors[400]}; bad_input: the body is not JSON or not this schema (every problem in \`problems\`)`;
  if (jsonBody || r.body === "text") errors[413] ??= "too_large: a JSON body over 6 MB (counted in bytes)";
  for (const status of [400, 403, 404, 409, 413] as const) {
    const text = errors[status];
    if (status === 403 && r.roles !== "public" && r.roles.length < 4) {
      const extra = text ? `; ${text}` : "";
      responses["403"] = errorResponse(
        `forbidden: the role may not (allowed: ${r.roles.join(", ")})${extra}`,
        errorExample(
          "forbidden",
          `the analyst role cannot ${r.summary.toLowerCase()} (allowed: ${r.roles.join(", ")})`,
        ),
      );
      continue;
    }
    if (text)
      responses[String(status)] = errorResponse(
        text,
        errorExample(firstCode(text), text.split(": ")[1]?.split(";")[0] ?? text),
      );
  }
  if (r.roles !== "public") responses["401"] = { $ref: "#/components/responses/Unauthorized" };

  return {
    tags: [doc.tag],
    summary: r.summary,
    description: `${doc.description}${r.roles === "public" ? "" : `\n\nRoles: ${r.roles.join(", ")}.`}`,
    operationId: `${r.method.toLowerCase()}${r.path
      .replace(/^\/api/, "")
      .replace(/[{}]/g, "")
      .replace(/\.(\w)/g, (_, c: string) => c.toUpperCase())
      .replace(/[/-](\w)/g, (_, c: string) => c.toUpperCase())}`,
    ...(r.roles === "public" ? { security: [] } : { "x-roles": r.roles }),
    ...(params.length + query.length ? { parameters: [...params, ...query] } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
  };
}

const html = (description: string, example: string): Json => ({
  description,
  content: { "text/html": { schema: { type: "string" }, example } },
});
const TOKEN = (description: string): Json => ({
  name: "token",
  in: "path",
  required: true,
  description,
  schema: { type: "string", pattern: "^[A-Za-z0-9_.-]+$" },
});
const UNSUB_QUERY: Json[] = [
  { name: "c", in: "query", required: true, description: "the campaign id", schema: { type: "string" } },
  {
    name: "r",
    in: "query",
    required: true,
    description: "the recipient's customer id",
    schema: { type: "string" },
  },
  { name: "t", in: "query", required: true, description: "the link's HMAC", schema: { type: "string" } },
];
const NOT_VALID = html(
  "a forged, altered or unknown link: a page that says so",
  "<!doctype html>…<h1>链接无效 Link not valid</h1>…",
);

/** The public paths outside /api (functions/track/core.ts): on AWS the same Lambda serves them. */
function trackingPaths(convert: ReturnType<typeof converter>["convert"]): Record<string, Json> {
  return {
    "/t/c/{token}": {
      get: {
        tags: ["Tracking"],
        summary: "Tracked link: count the click, redirect to the variant's landing page",
        description:
          "`{{link}}` in a template renders this URL: the token is the campaign and customer ids encrypted (no customer id in any URL) with a 96-bit HMAC. The first click counts (engaged); the redirect only ever goes to the variant's own `url`.",
        operationId: "trackClick",
        security: [],
        parameters: [TOKEN("the signed, encrypted recipient token")],
        responses: {
          "302": {
            description: "to the variant's landing page",
            headers: {
              Location: {
                description: "the variant's url",
                required: true,
                schema: { type: "string", format: "uri" },
              },
            },
          },
          "404": NOT_VALID,
        },
      },
    },
    "/t/o/{token}.gif": {
      get: {
        tags: ["Tracking"],
        summary: "Open pixel: count the email's first open",
        description:
          "Always the 1×1 GIF, whatever the token: a bad token learns nothing, and counts nothing.",
        operationId: "trackOpen",
        security: [],
        parameters: [TOKEN("the signed, encrypted recipient token")],
        responses: {
          "200": {
            description: "a 1×1 transparent GIF",
            content: { "image/gif": { schema: { type: "string", contentMediaType: "image/gif" } } },
          },
        },
      },
    },
    "/u": {
      get: {
        tags: ["Tracking"],
        summary: "Unsubscribe page (a person's click, or a link scanner): opts nobody out",
        description:
          "RFC 8058: a GET only shows a page whose button makes the one-click POST, so a scanner fetching every URL of a mail never opts anyone out.",
        operationId: "unsubscribePage",
        security: [],
        parameters: UNSUB_QUERY,
        responses: {
          "200": html(
            "a page with the one-click form",
            '<!doctype html>…<form method="post" action="/u?c=…&r=…&t=…">…',
          ),
          "404": NOT_VALID,
        },
      },
      post: {
        tags: ["Tracking"],
        summary: "One-click unsubscribe (RFC 8058): opt the recipient out of email",
        description:
          "What mail providers send for `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, and what the page's button sends.",
        operationId: "unsubscribe",
        security: [],
        parameters: UNSUB_QUERY,
        requestBody: {
          required: false,
          content: {
            "application/x-www-form-urlencoded": {
              schema: {
                type: "object",
                properties: { "List-Unsubscribe": { type: "string", const: "One-Click" } },
              },
            },
          },
        },
        responses: {
          "200": html(
            "opted out (a repeat changes nothing)",
            "<!doctype html>…<h1>已退订 Unsubscribed</h1>…",
          ),
          "404": NOT_VALID,
          "413": errorResponse(
            "too_large: the body is over 1 MB",
            errorExample("too_large", "the body is over 1 MB"),
          ),
        },
      },
    },
    ...vendorReceiptPaths(convert),
    "/hooks/sms": {
      post: {
        tags: ["Tracking"],
        summary: "SMS gateway webhook: delivery receipts and replies",
        description:
          "Signed by the gateway: `X-Tiercast-Signature: sha256=<hex HMAC-SHA-256 of the body>`; anything unsigned or altered is refused before it is read. A reply of R, TD or 退订 opts the customer out of SMS.",
        operationId: "smsWebhook",
        security: [{ smsSignature: [] }],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: convert(R.SmsHook, "input"),
              example: {
                type: "delivered",
                tag: "dormant-2027q1#C0000102#sms",
                messageId: "gw-1",
                at: "2027-03-01T02:00:00Z",
              },
            },
          },
        },
        responses: {
          "200": {
            description: "accepted, or a duplicate (idempotent)",
            content: {
              "application/json": {
                schema: convert(R.HookOutcome, "output"),
                example: { status: "accepted", stage: "delivered" },
              },
            },
          },
          "400": errorResponse(
            "bad_input: not JSON, not this schema, not a Tiercast tag, or an event the ledger refuses",
            errorExample("bad_input", "tag: not a Tiercast send tag"),
          ),
          "401": errorResponse(
            "bad_signature: missing or wrong X-Tiercast-Signature",
            errorExample("bad_signature", "missing or wrong x-tiercast-signature"),
          ),
          "413": errorResponse(
            "too_large: the body is over 1 MB",
            errorExample("too_large", "the body is over 1 MB"),
          ),
        },
      },
    },
  };
}

/** OpenAPI 3.1 from the route table: every operation, request and response body, status and header. */
export function openApiDocument(routes: AnyRoute[]) {
  const { convert, components } = converter();
  const campaignFile = convert(Campaign, "input");
  const errorSchema = convert(R.ErrorBody, "output");
  const paths: Record<string, Json> = {};
  for (const r of routes) (paths[r.path] ??= {})[r.method.toLowerCase()] = operation(r, convert);
  Object.assign(paths, trackingPaths(convert));
  const schemas: Record<string, Json> = {
    ...components,
    Error: (components.Error as Json) ?? errorSchema,
    CampaignFile: {
      ...campaignFile,
      description:
        "The campaign file of CONTRACT.md (preview, launch and the API's body); defaults from the config apply to anything left out",
    },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "Tiercast API",
      version: "1",
      summary: "Tier-aware marketing campaigns for banks",
      description: [
        "Campaigns with maker-checker approval, schedules, funnel with uplift, ledger, events and imports; the same router serves `tiercast serve` (the embedded runtime) and API Gateway + Lambda on AWS.",
        "",
        '**Errors** are always JSON: `{"error": code, "message", "problems"?}` (schema `Error`). 400 invalid input (every problem of an invalid campaign or schedule in `problems`), 401 no valid token, 403 role, branch (`other_branch`) or maker-checker (`self_approval`), 404 no such record (or path: `NotFound`), 405 a method the path does not have (`MethodNotAllowed`, with `Allow`), 409 a state conflict, 413 a JSON body over 6 MB. No client input gets a 5xx. Request bodies are read as JSON whatever their Content-Type (there is no 415). On AWS, API Gateway and WAF may also answer 403, 429 or 5xx of their own.',
        "",
        "**Roles**: each operation's `x-roles` lists who may call it. A branch user sees and acts on their branch's records only.",
        "",
        "**Compatibility** (CONTRACT.md): fields are added, never renamed or removed; clients must ignore fields they do not know, and the API ignores unknown fields in inputs.",
      ].join("\n"),
      license: { name: "UNLICENSED", identifier: "LicenseRef-UNLICENSED" },
    },
    servers: [
      {
        url: "http://127.0.0.1:8787",
        description: "`tiercast serve` on the embedded runtime (default port; `--port N`)",
      },
      {
        url: "https://{apiDomain}",
        description: "API Gateway on AWS (the Api stack's output, or the bank's custom domain)",
        variables: {
          apiDomain: { default: "api.tiercast.bank.internal", description: "the deployment's API host" },
        },
      },
    ],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "A local token (`tiercast users add` or POST /api/users) or, on AWS, a Cognito JWT (role and branch in its claims)",
        },
        smsReceiptToken: {
          type: "apiKey",
          in: "query",
          name: "token",
          description:
            "The token of a domestic SMS vendor's callback URL (neither vendor signs its pushes): an HMAC of the deployment's secret per vendor, set once in the vendor's console with the URL",
        },
        smsSignature: {
          type: "apiKey",
          in: "header",
          name: "X-Tiercast-Signature",
          description: "`sha256=` and the hex HMAC-SHA-256 of the body with the gateway's shared secret",
        },
      },
      schemas,
      responses: {
        Unauthorized: errorResponse(
          "unauthorized: missing or invalid token",
          errorExample(
            "unauthorized",
            "missing or invalid token: send Authorization: Bearer <token> (tiercast users add issues one)",
          ),
        ),
        NotFound: errorResponse(
          "not_found: no API route at this path",
          errorExample("not_found", "no API route /api/campaign"),
        ),
        MethodNotAllowed: {
          ...errorResponse(
            "method_not_allowed: the path has no such operation",
            errorExample("method_not_allowed", "PATCH is not allowed on /api/campaigns (use GET, POST)"),
          ),
          headers: {
            Allow: { description: "the path's methods", required: true, schema: { type: "string" } },
          },
        },
      },
    },
  };
}

/** The domestic SMS vendors' receipt pushes (AWS China): their own formats, answered in their own terms. */
function vendorReceiptPaths(convert: ReturnType<typeof converter>["convert"]) {
  const common = () => ({
    "400": errorResponse(
      "bad_input: not JSON, or not the vendor's report format",
      errorExample("bad_input", "0.success: Invalid input: expected boolean, received undefined"),
    ),
    "401": errorResponse(
      "bad_token: the callback URL's token is missing or wrong",
      errorExample("bad_token", "missing or wrong token in the callback URL"),
    ),
    "413": errorResponse(
      "too_large: the body is over 1 MB",
      errorExample("too_large", "the body is over 1 MB"),
    ),
  });
  return {
    "/hooks/sms/aliyun": {
      post: {
        tags: ["Tracking"],
        summary: "Alibaba Cloud SMS delivery receipts (SmsReport, HTTP batch push)",
        description:
          "The SmsReport HTTP batch push Alibaba Cloud's console is set to send here, with the URL's token. Each report names our send by `out_id` (the OutId the adapter sets) and becomes a delivered or failed event once: a redelivered push is a duplicate. Answered `{\"code\":0}` when every report is recorded, so the vendor pushes again only on an error.",
        operationId: "aliyunSmsReceipts",
        security: [{ smsReceiptToken: [] }],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: convert(R.AliyunSmsReports, "input"),
              example: [
                {
                  phone_number: "13800138000",
                  send_time: "2027-03-01 10:00:00",
                  report_time: "2027-03-01 10:00:03",
                  success: true,
                  err_code: "DELIVERED",
                  err_msg: "用户接收成功",
                  sms_size: "1",
                  biz_id: "900619746936498440^0",
                  out_id: "dormant-2027q1#C0000102#sms",
                },
              ],
            },
          },
        },
        responses: {
          "200": {
            description: "recorded (or duplicates, or not ours)",
            content: {
              "application/json": {
                schema: convert(R.AliyunReceiptAnswer, "output"),
                example: { code: 0, msg: "接收成功", accepted: 1, duplicate: 0, ignored: 0, rejected: 0 },
              },
            },
          },
          ...common(),
        },
      },
    },
    "/hooks/sms/tencent": {
      post: {
        tags: ["Tracking"],
        summary: "Tencent Cloud SMS delivery receipts (status callback)",
        description:
          "The status callback Tencent Cloud's console is set to send here, with the URL's token. A report names the SerialNo (`sid`), which the pointer the worker wrote per send leads to the row; each becomes a delivered or failed event once. Answered `{\"result\":0}`.",
        operationId: "tencentSmsReceipts",
        security: [{ smsReceiptToken: [] }],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: convert(R.TencentSmsReports, "input"),
              example: [
                {
                  user_receive_time: "2027-03-01 10:00:03",
                  nationcode: "86",
                  mobile: "13800138000",
                  report_status: "SUCCESS",
                  errmsg: "DELIVRD",
                  description: "用户短信送达成功",
                  sid: "2433:1000000000000000001",
                },
              ],
            },
          },
        },
        responses: {
          "200": {
            description: "recorded (or duplicates, or not ours)",
            content: {
              "application/json": {
                schema: convert(R.TencentReceiptAnswer, "output"),
                example: { result: 0, errmsg: "OK", accepted: 1, duplicate: 0, ignored: 0, rejected: 0 },
              },
            },
          },
          ...common(),
        },
      },
    },
  };
}
