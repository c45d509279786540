import { z } from "zod";
import { ROLES } from "#functions/access/users.ts";
import { CAMPAIGN_STATUSES } from "#functions/campaign/record.ts";
import { Campaign, CHANNELS, PLAYBOOKS } from "#functions/campaign/schema.ts";
import { STAGES } from "#functions/ledger/rows.ts";
import { PLAN_RULES } from "#functions/plans/core.ts";
import { AliyunReport, TencentReport } from "#functions/receipts/vendor.ts";
import { Schedule } from "#functions/schedules/core.ts";
import { OUTCOMES } from "#functions/tasks/store.ts";
import { HookBody } from "#functions/track/core.ts";

/**
 * What the API answers, as zod schemas: the OpenAPI document's response bodies (functions/api/openapi.ts),
 * checked against real answers of `tiercast serve` by test/integration/openapi.test.ts. Reuses the
 * schemas the API validates with (Campaign, Schedule, roles, stages) so the two cannot drift apart.
 * Objects are open in the document (CONTRACT.md: fields are added, never removed); the test holds the
 * answers to exactly these fields.
 */

const Instant = z.string().describe("ISO-8601 instant (UTC)").meta({ format: "date-time" });
const Day = z.string().describe("YYYY-MM-DD, in the bank's time zone");
const Count = z.number().int().min(0);
const Line = z.object({ line: Count.describe("1-based line (record) of the file"), error: z.string() });

export const ErrorBody = z
  .object({
    error: z
      .string()
      .describe(
        "a stable code: bad_input, invalid_campaign, invalid_schedule, bad_encoding, unstorable, unauthorized, forbidden, other_branch, other_rm, self_approval, not_found, method_not_allowed, exists, conflict, invalid_transition, not_approved, not_editable, changed_meanwhile, task_closed, task_changed, reward_paid, too_large, bad_signature",
      ),
    message: z.string().describe("what went wrong and what to do, for a person"),
    problems: z.array(z.string()).optional().describe("every problem of an invalid body, field by field"),
  })
  .meta({
    id: "Error",
    description: "Every error of the API: a stable code, a message, and the problems of an invalid body.",
  });

export const Health = z.object({ ok: z.literal(true) }).meta({ id: "Health" });

export const Actor = z
  .object({
    userId: z.string(),
    role: z.enum(ROLES),
    branchId: z.string().optional().describe("set for a branch user: they see and act on their branch only"),
  })
  .meta({ id: "User" });

/** The signed-in user, with the bank's time zone the console shows dates in. */
export const Me = Actor.extend({
  timeZone: z.string().describe("the bank's IANA time zone (quietHours.timeZone): dates are shown in it"),
  tierSchemes: z
    .record(z.string(), z.array(z.string()))
    .describe(
      "the bank's tier schemes, each with its tier names lowest first (the builder's scheme and tiers)",
    ),
  largeCdMin: z
    .number()
    .describe(
      "the bank's large-CD threshold in CNY (config largeCdMin): cdMaturingWithinDays counts CDs of at least this",
    ),
}).meta({ id: "Me" });

const Stamp = z.object({
  version: z.number().int().min(1).describe("the campaign version it covers"),
  by: z.string(),
  at: Instant,
  note: z.string().optional(),
});

const DecisionCounts = z
  .record(z.string(), Count)
  .describe(
    "recipients per ledger decision (queued, claimed, deferred, sent, failed, unknown, excluded, holdout)",
  );

export const CampaignSummary = z
  .object({
    campaignId: z.string(),
    name: z.string().describe("the campaign's name, or its id when it has none"),
    playbook: z.enum(PLAYBOOKS),
    status: z.enum(CAMPAIGN_STATUSES),
    version: z.number().int().min(1).describe("every edit makes a new version"),
    tiers: z.array(z.string()),
    createdBy: z.string().nullable(),
    branchId: z.string().nullable().describe("the branch that owns it; null: head office"),
    approval: Stamp.nullable().describe("the approval of the current version, if any"),
    updatedAt: Instant,
    summary: DecisionCounts.nullable().describe(
      "after a launch: recipients per decision when the launch ended (deferred ones are sent later)",
    ),
    sent: Count.nullable().describe(
      "sent so far, from the funnel's counters: sends released later by tick included (null before a launch)",
    ),
  })
  .meta({ id: "CampaignSummary" });

export const CampaignDetail = CampaignSummary.extend({
  campaign: Campaign.describe("the campaign file as stored, with the config's defaults applied"),
}).meta({ id: "CampaignDetail" });

export const TransitionResult = CampaignSummary.extend({
  executionId: z.string().optional().describe("launch only: the workflow execution it started"),
}).meta({ id: "TransitionResult" });

export const CampaignList = z.object({ campaigns: z.array(CampaignSummary) }).meta({ id: "CampaignList" });

const Message = z.object({
  to: z.string().describe("masked: the contact is PII"),
  text: z.string().optional(),
  subject: z.string().optional(),
  html: z.string().optional(),
  parts: z.number().int().min(1).optional().describe("SMS parts (70 characters, 67 when concatenated)"),
  listUnsubscribe: z.string().optional(),
});

const Reasons = z
  .record(z.string(), Count)
  .describe("recipients per exclusion reason (no_consent, opted_out, …)");

export const Preview = z
  .object({
    campaignId: z.string(),
    audience: Count,
    eligible: Count,
    deferred: Count.describe("eligible, but sent later (quiet hours, salon waves, RM working days)"),
    holdout: Count,
    excluded: Reasons,
    byTier: z.record(
      z.string(),
      z.object({
        audience: Count,
        eligible: Count,
        deferred: Count,
        holdout: Count,
        excluded: Count,
        excludedBy: Reasons,
      }),
    ),
    byVariant: z.record(
      z.string(),
      z.object({ channel: z.enum(CHANNELS), eligible: Count, deferred: Count, smsParts: Count }),
    ),
    sms: z.object({
      messages: Count,
      parts: Count,
      estimatedCost: z.number().min(0),
      currency: z.literal("CNY"),
    }),
    samples: z.array(
      z.object({
        variant: z.string(),
        channel: z.enum(CHANNELS),
        tier: z.string(),
        message: Message,
        dueAt: Instant.optional(),
      }),
    ),
    problems: z.array(z.string()).describe("what would go wrong (a variable without a value, …)"),
  })
  .meta({ id: "Preview" });

const Estimated = z
  .object({
    estimate: Count.describe("the count scaled to the population (rounded)"),
    low: Count.describe("the interval's low end (95%)"),
    high: Count.describe("the interval's high end (95%)"),
  })
  .meta({ id: "EstimatedCount" });
const EstimatedReasons = z.record(z.string(), Estimated).describe("per exclusion reason");

export const Estimate = z
  .object({
    campaignId: z.string(),
    estimate: z.literal(true).describe("always true: a sampled estimate, not the exact dry run"),
    method: z
      .enum(["sample", "exact"])
      .describe("exact: every customer was read (the intervals have zero width)"),
    confidence: z.literal(0.95),
    interval: z.string().describe("how the intervals are computed"),
    sample: z.object({
      customersRead: Count.describe("customers read from the sample index"),
      decided: Count.describe("of them, in the segment and decided"),
      strata: z.record(
        z.string(),
        z.object({
          rate: z.number().gt(0).max(1).describe("the tier's sampling rate; 1 = read whole"),
          customersRead: Count,
        }),
      ),
    }),
    audience: Estimated,
    eligible: Estimated,
    deferred: Estimated,
    holdout: Estimated,
    excluded: EstimatedReasons,
    byTier: z.record(
      z.string(),
      z.object({
        audience: Estimated,
        eligible: Estimated,
        deferred: Estimated,
        holdout: Estimated,
        excluded: Estimated,
        excludedBy: EstimatedReasons,
      }),
    ),
    byVariant: z.record(
      z.string(),
      z.object({
        channel: z.enum(CHANNELS),
        recipients: Estimated,
        eligible: Estimated,
        deferred: Estimated,
      }),
    ),
    byChannel: z.record(z.string(), Estimated).describe("recipients (eligible + deferred) per channel"),
    sms: z.object({
      messages: Estimated,
      parts: Estimated,
      estimatedCost: z.object({
        estimate: z.number().min(0),
        low: z.number().min(0),
        high: z.number().min(0),
      }),
      currency: z.literal("CNY"),
    }),
    samples: Preview.shape.samples,
    problems: z.array(z.string()),
    notes: z.array(z.string()).describe("what the estimate is and what it cannot see"),
  })
  .meta({ id: "Estimate" });

export const DryRun = z
  .object({
    jobId: z.string(),
    campaignId: z.string(),
    version: Count.nullable().describe("the saved version it was started for; null: an unsaved body"),
    definitionHash: z.string().describe("SHA-256 of the resolved definition it decides"),
    status: z.enum(["queued", "running", "done", "failed"]),
    at: Instant.describe("the instant the recipients are decided at"),
    createdAt: Instant,
    updatedAt: Instant,
    createdBy: z.string(),
    progress: z.object({
      tasksDone: Count.describe("tier shards read"),
      tasksTotal: Count.describe("tier shards to read (0 until the first is done)"),
      percent: z.number().min(0).max(100),
      pagesDone: Count,
      customersRead: Count,
      recipientsDecided: Count,
    }),
    error: z.string().optional(),
    result: Preview.optional().describe("the exact dry run, once done"),
  })
  .meta({ id: "DryRun" });

export const CampaignDryRun = z
  .object({
    campaignId: z.string(),
    currentVersion: Count,
    state: z
      .enum(["current", "older_version", "missing"])
      .describe(
        "current: of the version as it stands; older_version: of an earlier definition; missing: none started",
      ),
    dryRun: DryRun.nullable(),
  })
  .meta({ id: "CampaignDryRun" });

export const CampaignChanges = z
  .object({
    campaignId: z.string(),
    version: z.number().int().min(1),
    lastApproved: z
      .object({ version: z.number().int().min(1), by: z.string(), at: Instant })
      .nullable()
      .describe("the version last approved (null: never approved)"),
    changes: z
      .array(
        z.object({
          path: z.string().describe("the field, e.g. variants[A].template or segment.tiers"),
          before: z.unknown().optional().describe("absent: the field is new"),
          after: z.unknown().optional().describe("absent: the field was removed"),
        }),
      )
      .describe("every field that differs from the last approved version (none when it is that version)"),
  })
  .meta({ id: "CampaignChanges" });

export const AuditEntry = z
  .object({
    entity: z.enum(["campaign", "schedule", "user", "import", "events", "target", "customer"]),
    entityId: z.string(),
    action: z
      .string()
      .describe("create, edit, submit, approve, reject, launch, launched, launch_failed, pause, …"),
    actor: z.object({ userId: z.string(), role: z.string(), branchId: z.string().optional() }),
    at: Instant,
    before: z.unknown().optional(),
    after: z.unknown().optional(),
    note: z.string().optional(),
    onceKey: z.string().optional(),
    seq: z.number().int().min(1),
    prevMac: z.string().describe("the previous entry's MAC (hex)"),
    mac: z.string().describe("HMAC-SHA-256 over trail, number, previous MAC and content (hex)"),
  })
  .meta({ id: "AuditEntry" });

export const AuditTrail = z
  .object({ entries: z.array(AuditEntry), intact: z.boolean(), problems: z.array(z.string()) })
  .meta({ id: "AuditTrail" });

const stageShape = Object.fromEntries(STAGES.map((s) => [s, Count])) as Record<
  (typeof STAGES)[number],
  typeof Count
>;
const StageCounts = z.object(stageShape).meta({ id: "StageCounts" });
const Ci95 = z.tuple([z.number(), z.number()]).describe("95% interval of the uplift");

export const TargetProgress = z
  .object({
    campaignId: z.string(),
    period: z.string().describe("2027Q1, 2027-03 or 2027-W09"),
    tier: z.string().describe("a tier, or all"),
    stage: z.enum(STAGES),
    value: z.number().int().min(1),
    from: Day,
    to: Day,
    actual: Count,
    progress: z.number().min(0).describe("percent of the value reached"),
  })
  .meta({ id: "TargetProgress" });

const UniqueCounts = z
  .object({ opened: Count, clicked: Count, replied: Count })
  .meta({ id: "UniqueEventCounts" });

export const Funnel = z
  .object({
    campaignId: z.string(),
    total: StageCounts.extend({
      holdout: Count,
      holdoutConverted: Count,
      uplift: z.number(),
      upliftCi95: Ci95,
      incrementalConversions: z.number(),
    }),
    byTier: z.record(
      z.string(),
      StageCounts.extend({
        holdout: Count,
        holdoutConverted: Count,
        conversionRate: z.number(),
        holdoutConversionRate: z.number(),
        uplift: z.number(),
        upliftCi95: Ci95,
        incrementalConversions: z.number(),
      }),
    ),
    byVariant: z.record(z.string(), StageCounts),
    variantUplift: z
      .record(
        z.string(),
        z.record(
          z.string(),
          z.object({
            treated: Count,
            converted: Count,
            conversionRate: z.number(),
            holdout: Count,
            holdoutConverted: Count,
            holdoutConversionRate: z.number(),
            uplift: z.number(),
            upliftCi95: Ci95,
          }),
        ),
      )
      .describe(
        "per variant, per tier: the variant's treated conversion minus the tier's holdout conversion (the holdout every variant of the tier shares), with Newcombe's 95% interval",
      ),
    byChannel: z.record(z.string(), StageCounts).describe("`-`: recipients decided without a channel"),
    byDay: z.record(z.string(), StageCounts),
    unique: z
      .object({
        total: UniqueCounts,
        byTier: z.record(z.string(), UniqueCounts),
        byDay: z.record(z.string(), UniqueCounts),
      })
      .describe(
        "unique events as they happened, beside the cumulative stages: recipients who opened, clicked or replied at least once (a conversion without a click is no click here)",
      ),
    method: z.string(),
    status: z.enum(CAMPAIGN_STATUSES),
    targets: z.array(TargetProgress),
  })
  .meta({
    id: "Funnel",
    description: "Stages are cumulative (engaged counts everyone who opened, clicked or went further)",
  });

export const LedgerRow = z
  .object({
    customerId: z.string(),
    tier: z.string(),
    decision: z.enum(["queued", "claimed", "deferred", "sent", "failed", "unknown", "excluded", "holdout"]),
    reason: z.string().describe("exclusion, deferral or failure reason code; empty when none"),
    channel: z.string().describe("sms, email, rm-task; empty when none"),
    variant: z.string(),
    messageId: z.string(),
    at: Instant,
    dueAt: z.string().describe("a deferred send's due instant; empty when none"),
    stage: z.enum(STAGES),
  })
  .meta({ id: "LedgerRow" });

export const LedgerPage = z
  .object({
    rows: z.array(LedgerRow),
    next: z.string().nullable().describe("pass as ?cursor= for the next page; null on the last"),
  })
  .meta({ id: "LedgerPage" });

export const Targets = z
  .object({ campaignId: z.string(), targets: z.array(TargetProgress) })
  .meta({ id: "Targets" });

export const CustomerDecisions = z
  .object({
    customer: z.object({
      customerId: z.string(),
      tier: z.string(),
      branchId: z.string().nullable(),
      phone: z.string().nullable().describe("masked"),
      email: z.string().nullable().describe("masked"),
      consentSms: z.boolean(),
      consentEmail: z.boolean(),
      riskFlag: z.boolean(),
    }),
    decisions: z.array(LedgerRow.extend({ campaignId: z.string() })),
  })
  .meta({ id: "CustomerDecisions" });

export const ImportReport = z
  .object({ imported: Count, rejected: z.array(Line) })
  .meta({ id: "ImportReport", description: "Rows stored, and every rejected line with its reason." });

export const IngestReport = z
  .object({
    accepted: Count,
    duplicates: Count.describe("repeated eventIds: counted, nothing changed"),
    rejected: z.array(Line),
  })
  .meta({ id: "IngestReport" });

export const ImportJobCreated = z
  .object({
    jobId: z.string(),
    uploadUrl: z.string().describe("presigned: PUT the file's bytes here"),
    method: z.literal("PUT"),
    expiresAt: Instant,
    status: z.literal("awaiting_upload"),
  })
  .meta({ id: "ImportJobCreated" });

export const ImportJobProgress = z
  .object({
    jobId: z.string(),
    status: z.enum(["awaiting_upload", "running", "done", "failed"]),
    format: z.enum(["jsonl", "csv", "xlsx"]),
    encoding: z.string(),
    bytesTotal: Count.nullable(),
    bytesDone: Count,
    percent: z.number().min(0).max(100),
    imported: Count,
    rejected: Count,
    runs: Count,
    updatedAt: Instant,
    error: z.string().optional(),
    rejections: z.array(Line).describe("a page of the rejected lines"),
    nextCursor: z.string().nullable().describe("pass as ?cursor= for the next page of rejections"),
  })
  .meta({ id: "ImportJobProgress" });

const ContactState = z.enum(["ok", "missing", "invalid"]);
export const Uncontactable = z
  .object({
    rows: z.array(
      z.object({
        customerId: z.string(),
        branchId: z.string(),
        rmId: z.string(),
        tier: z.string(),
        phone: ContactState,
        email: ContactState,
        lostContact: z.boolean().describe("neither a valid phone nor email: the red list"),
      }),
    ),
  })
  .meta({ id: "Uncontactable" });

export const UserList = z.object({ users: z.array(Actor) }).meta({ id: "UserList" });

export const UserCreated = Actor.extend({
  token: z.string().describe("the bearer token, shown once; the user's previous token stops working"),
}).meta({ id: "UserCreated" });

export const AuditVerification = z
  .object({ intact: z.boolean(), entries: Count, problems: z.array(z.string()) })
  .meta({ id: "AuditVerification" });

export const ScheduleRecord = Schedule.extend({
  nextRunAt: Instant,
  lastRunAt: Instant.optional(),
  lastCampaignId: z.string().optional(),
  createdBy: z.string(),
  branchId: z.string().optional(),
}).meta({ id: "Schedule" });

export const ScheduleBody = Schedule.omit({ scheduleId: true }).meta({
  id: "ScheduleInput",
  description: "The schedule's id is the path's",
});

export const ScheduleList = z.object({ schedules: z.array(ScheduleRecord) }).meta({ id: "ScheduleList" });

export const ScheduleDeleted = z.object({ deleted: z.string() }).meta({ id: "ScheduleDeleted" });

export const DueRuns = z
  .object({
    runs: z.array(
      z.object({
        scheduleId: z.string(),
        firedAt: Instant,
        campaignId: z.string().describe("the run: <campaign>-<YYYYMMDDHHmm>-<hash>"),
      }),
    ),
  })
  .meta({ id: "DueRuns" });

export const OpenApiDocument = z
  .looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) })
  .meta({ id: "OpenApiDocument" });

export const HookOutcome = z
  .object({
    status: z
      .enum(["accepted", "duplicate"])
      .describe("duplicate: this event was taken before; nothing changed"),
    attributedTo: z.string().optional(),
    stage: z.enum(STAGES).optional().describe("the stage the recipient's ledger row reached"),
  })
  .meta({ id: "HookOutcome" });

export const SmsHook = HookBody.meta({ id: "SmsHook" });

export const AliyunSmsReports = z.array(AliyunReport).max(1000).meta({ id: "AliyunSmsReports" });
export const TencentSmsReports = z.array(TencentReport).max(1000).meta({ id: "TencentSmsReports" });

const ReceiptCounts = {
  accepted: z.number().int().describe("reports recorded now"),
  duplicate: z.number().int().describe("reports recorded before (a redelivered push): nothing changed"),
  ignored: z.number().int().describe("reports about no send of ours"),
  rejected: z.number().int().describe("reports the ledger refused"),
};
export const AliyunReceiptAnswer = z
  .object({ code: z.literal(0), msg: z.string(), ...ReceiptCounts })
  .meta({ id: "AliyunReceiptAnswer" });
export const TencentReceiptAnswer = z
  .object({ result: z.literal(0), errmsg: z.string(), ...ReceiptCounts })
  .meta({ id: "TencentReceiptAnswer" });

const TaskOutcome = z.enum(OUTCOMES).meta({
  id: "TaskOutcome",
  description: "no_answer logs an attempt and keeps the task open; the others close it",
});
const TaskStatus = z.enum(["open", "done"]);

export const Task = z
  .object({
    taskId: z.string().describe("<campaignId>.<customerId>"),
    rmId: z.string().describe("the RM who holds the task"),
    customerId: z.string(),
    campaignId: z.string(),
    status: TaskStatus,
    dueAt: Instant,
    attempts: Count.describe("calls made (no_answer included)"),
    outcome: TaskOutcome.optional().describe("a closed task's outcome"),
    priority: z.enum(["high", "normal", "low"]),
    branchId: z.string().nullable().describe("the customer's branch; null: head office"),
    context: z
      .object({
        tier: z.string(),
        scheme: z.string().optional(),
        aumBand: z
          .object({ min: z.number(), max: z.number().optional() })
          .optional()
          .describe("the tier's AUM band in CNY, lower bound inclusive"),
        lastContactAt: Instant.optional(),
        lastContactChannel: z.string().optional(),
        products: z.array(z.string()).optional(),
        campaignName: z.string().optional(),
        playbook: z.string().optional(),
        script: z.string().optional().describe("the campaign's script, rendered for this customer"),
      })
      .describe("what the RM needs on the call, taken when the task was made (no contact details)"),
    note: z.string().optional().describe("the RM's note (PII-aware: never logged or audited)"),
    closedBy: z.string().optional(),
    closedAt: Instant.optional(),
    handovers: z
      .array(z.object({ from: z.string(), to: z.string(), by: z.string(), at: Instant }))
      .optional()
      .describe("every reassignment, oldest first"),
    createdAt: Instant,
  })
  .meta({ id: "Task" });

export const TaskList = z
  .object({
    tasks: z.array(Task),
    next: z
      .string()
      .nullable()
      .describe("the cursor of the next page (pass as cursor=); null on the last page"),
  })
  .meta({ id: "TaskList" });

export const RmList = z
  .object({
    branchId: z.string().nullable().describe("the branch listed; null for the whole bank (head office)"),
    rms: z.array(
      z.object({
        rmId: z.string(),
        branchId: z.string().nullable(),
        user: z
          .boolean()
          .describe("an rm user of the console (false: named only on tasks, e.g. an RM who left)"),
        open: Count,
        overdue: Count.describe("open and past due"),
      }),
    ),
  })
  .meta({ id: "RmList" });

export const TaskDetail = Task.extend({
  customer: z
    .object({
      customerId: z.string(),
      name: z.string().nullable(),
      phone: z.string().nullable().describe("in full for the RM whose task it is; masked for anyone else"),
      tier: z.string(),
      lastTransactionAt: z.string().nullable(),
    })
    .nullable()
    .describe("null when the customer is no longer on file"),
}).meta({ id: "TaskDetail" });

export const TaskCompleted = z
  .object({ taskId: z.string(), status: TaskStatus, outcome: TaskOutcome, attempts: Count })
  .meta({ id: "TaskCompleted" });

export const Handover = z
  .object({
    from: z.string(),
    to: z.string(),
    moved: Count.describe("open tasks handed over"),
    taskIds: z.array(z.string()),
    customers: Count.describe(
      "customers of the branch moved to the new RM's book (the old RM kept in their rmHistory)",
    ),
    customersKept: Count.describe(
      "customers of the book left with the old RM (other branches', or moved meanwhile)",
    ),
  })
  .meta({ id: "Handover" });

export const BooksReport = z
  .object({
    cap: z.number().int().min(1).describe("the book cap the report used"),
    customers: Count,
    rms: Count.describe("RMs with at least one customer"),
    unassigned: Count.describe("potential and quality customers without an RM"),
    unassignedByTier: z.record(z.string(), Count),
    overCap: z.array(z.object({ rmId: z.string(), customers: Count, over: Count })),
    unassignedCustomers: z.array(
      z.object({ customerId: z.string(), tier: z.string(), branchId: z.string() }),
    ),
  })
  .meta({ id: "BooksReport" });

export const PlanReport = z
  .object({
    month: z.string().describe("YYYY-MM"),
    rows: z.array(
      z.object({
        class: z.string().describe("the corporate class (class1, class2, class3)"),
        role: z.enum(PLAN_RULES.map((r) => r.group) as [PlanGroup, ...PlanGroup[]]),
        branchId: z.string(),
        required: Count,
        done: Count.describe("contacts made in the month (closed tasks with a contact outcome)"),
        unassigned: Count.describe("nobody holds the role at the branch, or the plan has not run"),
        missing: Count,
      }),
    ),
  })
  .meta({ id: "PlanReport" });
type PlanGroup = (typeof PLAN_RULES)[number]["group"];

export const Book = z
  .object({
    rmId: z.string(),
    customers: z.array(
      z.object({
        customerId: z.string(),
        name: z.string().nullable(),
        tier: z.string(),
        branchId: z.string().nullable(),
        phone: z.string().nullable().describe("masked"),
        lastTransactionAt: z.string().nullable(),
        products: z.array(z.string()),
      }),
    ),
    next: z.string().nullable().describe("pass as ?cursor= for the next page; null on the last"),
  })
  .meta({ id: "Book" });

export const Reward = z
  .object({
    campaignId: z.string(),
    referrerId: z.string(),
    refereeId: z.string(),
    reward: z.string(),
    at: Instant.describe("when the referee's funded account converted the referrer"),
    status: z.enum(["due", "paid"]),
    paidAt: Instant.optional(),
    paidBy: z.string().optional(),
    reference: z.string().optional().describe("the bank's settlement reference"),
  })
  .meta({ id: "Reward" });

export const RewardList = z.object({ rewards: z.array(Reward) }).meta({ id: "RewardList" });

// Branch and RM performance, the bank's cascaded indicators, the book rules (issues 18, 19).
const PerformanceRow = StageCounts.extend({
  branchId: z.string().describe("`(none)`: recipients without a branch"),
  rmId: z.string().optional().describe("with by=rm; `(none)`: recipients without an RM"),
  holdout: Count,
  holdoutConverted: Count,
  conversionRate: z.number(),
  holdoutConversionRate: z.number(),
  uplift: z.number(),
  upliftCi95: z.tuple([z.number(), z.number()]),
  incrementalConversions: z.number().int(),
}).meta({ id: "PerformanceRow" });

export const PerformanceReport = z
  .object({
    by: z.enum(["branch", "rm"]),
    campaignId: z.string().optional(),
    branchId: z.string().optional(),
    rmId: z.string().optional(),
    from: z.string().optional().describe("first local day counted (YYYY-MM-DD)"),
    to: z.string().optional().describe("last local day counted"),
    rows: z.array(PerformanceRow),
    total: PerformanceRow,
    method: z.string(),
  })
  .meta({ id: "PerformanceReport" });

const IndicatorLevel = z.enum(["bank", "branch", "rm"]);

export const IndicatorProgress = z
  .object({
    period: z.string().describe("the quarter"),
    stage: z.enum(STAGES),
    value: Count,
    split: z.enum(["customers", "equal"]),
    setAt: Instant,
    rows: z.array(
      z.object({
        level: IndicatorLevel,
        branchId: z.string().optional(),
        rmId: z.string().optional(),
        period: z.string().describe("2027Q1, 2027-03, or a month's part of an ISO week: 2027-03/2027-W13"),
        from: z.string(),
        to: z.string(),
        target: Count,
        actual: Count,
        progress: z.number().describe("percent of the target"),
      }),
    ),
  })
  .meta({ id: "IndicatorProgress" });

const RmSplit = z
  .object({ by: z.string(), at: Instant })
  .describe("a branch whose share its manager re-split among its RMs by hand: who, and when");

export const IndicatorSplit = z
  .object({
    period: z.string(),
    stage: z.enum(STAGES),
    branchId: z.string(),
    nodes: z
      .array(
        z.object({
          level: IndicatorLevel,
          branchId: z.string().optional(),
          rmId: z.string().optional(),
          quarter: Count,
          months: z.record(z.string(), Count),
          weeks: z.record(z.string(), z.record(z.string(), Count)),
          rmSplit: RmSplit.optional(),
        }),
      )
      .describe("the branch (its figures unchanged), then its RMs with their new shares"),
  })
  .meta({ id: "IndicatorSplit" });

export const IndicatorPlan = z
  .object({
    period: z.string(),
    stage: z.enum(STAGES),
    value: Count,
    split: z.enum(["customers", "equal"]),
    setAt: Instant,
    setBy: z.string(),
    nodes: z.array(
      z.object({
        level: IndicatorLevel,
        branchId: z.string().optional(),
        rmId: z.string().optional(),
        quarter: Count,
        months: z.record(z.string(), Count),
        weeks: z.record(z.string(), z.record(z.string(), Count)),
        rmSplit: RmSplit.optional(),
      }),
    ),
  })
  .meta({ id: "IndicatorPlan" });

export const BooksAssignment = z
  .object({
    cap: Count,
    tiers: z.array(z.string()).describe("the tiers that must have an RM, highest first"),
    dryRun: z.boolean(),
    branchId: z.string().optional(),
    customers: Count,
    kept: Count.describe("rule A: customers who keep their RM"),
    claimed: Count.describe("rule B"),
    assigned: Count.describe("rule C"),
    written: Count,
    skipped: Count.describe("given an RM meanwhile (an import): kept as it was"),
    rejected: z.array(z.object({ line: Count, customerId: z.string(), rmId: z.string(), error: z.string() })),
    unassigned: Count,
    unassignedByTier: z.record(z.string(), Count),
    unassignedCustomers: z.array(
      z.object({
        customerId: z.string(),
        tier: z.string(),
        branchId: z.string(),
        reason: z.enum(["no_rm_in_branch", "all_rms_at_cap"]),
      }),
    ),
    overCap: z.array(z.object({ rmId: z.string(), customers: Count, over: Count })),
    byRm: z.array(z.object({ rmId: z.string(), claimed: Count, assigned: Count, book: Count })),
    assignments: z.array(
      z.object({
        customerId: z.string(),
        rmId: z.string(),
        rule: z.enum(["B", "C"]),
        tier: z.string(),
        line: Count.optional(),
      }),
    ),
  })
  .meta({ id: "BooksAssignment" });
