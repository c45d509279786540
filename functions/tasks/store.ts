import { PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConflictError, InputError } from "#platform/errors.ts";
import { shardOf } from "#platform/hash.ts";
import { batchGet, conditional, isConditionFailed, type Repo } from "#platform/repo.ts";

/**
 * The RM task's owner: the only module that writes `TASK#<taskId>` items. Who may change a task, and when:
 *
 *   (rm-task worker)  → open                                     createTask (once per campaign × customer)
 *   (the RM, or the branch manager)
 *                     open → open, attempts + 1 (no_answer)      recordOutcome
 *                     open → done(outcome, closedBy, closedAt)   recordOutcome
 *                     done(o) + the same o → unchanged; + another outcome → ConflictError (409)
 *   (branch manager)  open(rmId) → open(another rmId of the branch), the handover kept   reassignTask
 *   (forget)          note and script removed                    scrubTask
 *
 * Every write is one conditional UpdateItem (or a conditional put), so a double click, a CLI re-run or two
 * people closing the same task at once leave one outcome.
 *
 * Indexes (the table's GSIs, overloaded with their own partition prefixes so no query sees another
 * record): an RM's tasks on GSI3 `TASKS#RM#<rmId>`, a branch's on GSI2 `TASKS#BR#<branchId>`, and all of
 * them (head office) on GSI1 `TASKS#<shard>`, write-sharded like the tier index. The sort key is
 * `<status>#<dueAt>#<taskId>`, so open work comes back due-first with one `begins_with` query.
 */

export const OUTCOMES = [
  "reached",
  "appointment",
  "interested",
  "declined",
  "no_answer",
  "wrong_number",
] as const;
export type TaskOutcome = (typeof OUTCOMES)[number];
export type TaskStatus = "open" | "done";

/** The customer picked up and the conversation happened: the campaign's response (or conversion). */
export const CONTACT_OUTCOMES: ReadonlySet<TaskOutcome> = new Set(["reached", "appointment", "interested"]);
/** A maintenance contact made (DOMAIN.md: the call counts when it is made), for the key report. */
export const countsAsContact = (o: TaskOutcome | undefined) =>
  o !== undefined && o !== "no_answer" && o !== "wrong_number";

export type TaskPriority = "high" | "normal" | "low";

/** What the RM needs on the call, taken when the task is made (no name, phone or email: see the profile). */
export interface TaskContext {
  tier: string;
  scheme?: string;
  /** The tier's AUM band in CNY, lower bound inclusive (e.g. 300000–1000000). */
  aumBand?: { min: number; max?: number };
  lastContactAt?: string;
  lastContactChannel?: string;
  products?: string[];
  campaignName?: string;
  playbook?: string;
  /** The campaign's script, rendered for this customer (may hold the name: never logged, scrubbed on forget). */
  script?: string;
}

export interface TaskAttempt {
  at: string;
  outcome: TaskOutcome;
  by: string;
}

export interface Task {
  taskId: string;
  rmId: string;
  customerId: string;
  campaignId: string;
  branchId?: string;
  status: TaskStatus;
  dueAt: string;
  priority: TaskPriority;
  context: TaskContext;
  attempts: number;
  attemptLog?: TaskAttempt[];
  outcome?: TaskOutcome;
  /** PII-aware: free text about a person. Never logged, never in an audit entry. */
  note?: string;
  closedBy?: string;
  closedAt?: string;
  createdAt: string;
  handovers?: { from: string; to: string; by: string; at: string }[];
}

/** Derived, so the worker's retries and redeliveries find the task they made (campaignId has no '.'). */
export const taskIdOf = (campaignId: string, customerId: string) => `${campaignId}.${customerId}`;

const taskKey = (taskId: string) => ({ PK: `TASK#${taskId}`, SK: "TASK" });
const rmPartition = (rmId: string) => `TASKS#RM#${rmId}`;
const branchPartition = (branchId: string) => `TASKS#BR#${branchId}`;
const allPartition = (shard: number) => `TASKS#${shard}`;
const sortKey = (status: TaskStatus, dueAt: string, taskId: string) => `${status}#${dueAt}#${taskId}`;

function indexes(task: Pick<Task, "taskId" | "rmId" | "branchId" | "status" | "dueAt">, shards: number) {
  const sk = sortKey(task.status, task.dueAt, task.taskId);
  return {
    GSI1PK: allPartition(shardOf(task.taskId, shards)),
    GSI1SK: sk,
    ...(task.branchId ? { GSI2PK: branchPartition(task.branchId), GSI2SK: sk } : {}),
    GSI3PK: rmPartition(task.rmId),
    GSI3SK: sk,
  };
}

const strip = (item: Record<string, unknown>): Task => {
  const { PK: _pk, SK: _sk, GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK, type: _t, ...task } = item;
  void [GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK];
  return task as unknown as Task;
};

/** Writes a new open task once; false when it exists (a redelivered send). */
export function createTask(repo: Repo, task: Task, shards: number) {
  return conditional(
    repo.ddb.send(
      new PutCommand({
        TableName: repo.table,
        Item: { ...taskKey(task.taskId), type: "task", ...task, ...indexes(task, shards) },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    ),
  );
}

export async function getTask(repo: Repo, taskId: string): Promise<Task | undefined> {
  const item = await repo.get(taskKey(taskId));
  return item ? strip(item) : undefined;
}

/** Several tasks by id (the key report); missing ones are left out. */
export async function getTasks(repo: Repo, taskIds: string[]): Promise<Task[]> {
  const items = await batchGet(repo.ddb, repo.table, taskIds.map(taskKey), 8);
  return items.map(strip);
}

export type StatusFilter = TaskStatus | "all";

async function queryIndex(repo: Repo, index: string, pk: string, status: StatusFilter): Promise<Task[]> {
  const tasks: Task[] = [];
  for (const prefix of status === "all" ? ["open#", "done#"] : [`${status}#`]) {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await repo.ddb.send(
        new QueryCommand({
          TableName: repo.table,
          IndexName: index,
          KeyConditionExpression: `${index}PK = :pk AND begins_with(${index}SK, :sk)`,
          ExpressionAttributeValues: { ":pk": pk, ":sk": prefix },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) tasks.push(strip(item));
      start = out.LastEvaluatedKey;
    } while (start);
  }
  return tasks;
}

/** An RM's tasks, due first (one partition). */
export const tasksOfRm = (repo: Repo, rmId: string, status: StatusFilter) =>
  queryIndex(repo, "GSI3", rmPartition(rmId), status);

/** A branch's tasks, every RM of it (one partition). */
export const tasksOfBranch = (repo: Repo, branchId: string, status: StatusFilter) =>
  queryIndex(repo, "GSI2", branchPartition(branchId), status);

/** What a page of tasks may be narrowed to: due by a moment (`dueBy`), or only the open ones past due. */
export interface TaskFilter {
  status: StatusFilter;
  /** ISO instant: only tasks due at or before it. */
  dueBy?: string;
}

/** One stretch of one index partition a listing walks: the sort-key range of one status. */
interface Phase {
  index: "GSI1" | "GSI2" | "GSI3";
  pk: string;
  from: string;
  to: string;
}

export type TaskScope = { rmId: string } | { branchId: string } | { all: true };

function phasesOf(scope: TaskScope, filter: TaskFilter, shards: number): Phase[] {
  const parts: Pick<Phase, "index" | "pk">[] =
    "rmId" in scope
      ? [{ index: "GSI3", pk: rmPartition(scope.rmId) }]
      : "branchId" in scope
        ? [{ index: "GSI2", pk: branchPartition(scope.branchId) }]
        : Array.from({ length: shards }, (_, s) => ({ index: "GSI1" as const, pk: allPartition(s) }));
  const statuses: TaskStatus[] = filter.status === "all" ? ["open", "done"] : [filter.status];
  // '~' sorts after every character of an ISO date and a task id: the end of a status's range.
  const to = (status: TaskStatus) => (filter.dueBy ? `${status}#${filter.dueBy}#~` : `${status}#~`);
  return parts.flatMap((part) => statuses.map((st) => ({ ...part, from: `${st}#`, to: to(st) })));
}

const encodeCursor = (phase: number, sk: string) =>
  Buffer.from(JSON.stringify([phase, sk]), "utf8").toString("base64url");

function decodeCursor(cursor: string, phases: number): { phase: number; sk: string } {
  try {
    const [phase, sk] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [unknown, unknown];
    if (
      Number.isInteger(phase) &&
      (phase as number) >= 0 &&
      (phase as number) < phases &&
      typeof sk === "string"
    )
      return { phase: phase as number, sk };
  } catch {}
  throw new InputError("cursor: not a cursor this listing gave (use the `next` of the previous page)");
}

/**
 * One page of tasks, due first within each partition (head office's shards in turn), and the cursor of
 * the next page (undefined at the end). The cursor names the partition and the last sort key, so a page
 * continues exactly where the last one stopped, whatever was closed or added meanwhile.
 */
export async function taskPage(
  repo: Repo,
  scope: TaskScope,
  filter: TaskFilter,
  options: { cursor?: string; limit: number; shards: number },
): Promise<{ tasks: Task[]; next?: string }> {
  const phases = phasesOf(scope, filter, options.shards);
  let { phase, sk } = options.cursor ? decodeCursor(options.cursor, phases.length) : { phase: 0, sk: "" };
  const tasks: Task[] = [];
  while (phase < phases.length) {
    const p = phases[phase]!;
    const start = sk
      ? {
          PK: `TASK#${sk.split("#").slice(2).join("#")}`,
          SK: "TASK",
          [`${p.index}PK`]: p.pk,
          [`${p.index}SK`]: sk,
        }
      : undefined;
    const out = await repo.ddb.send(
      new QueryCommand({
        TableName: repo.table,
        IndexName: p.index,
        KeyConditionExpression: `${p.index}PK = :pk AND ${p.index}SK BETWEEN :from AND :to`,
        ExpressionAttributeValues: { ":pk": p.pk, ":from": p.from, ":to": p.to },
        ExclusiveStartKey: start,
        Limit: options.limit - tasks.length,
      }),
    );
    for (const item of out.Items ?? []) tasks.push(strip(item));
    const last = out.Items?.at(-1);
    if (out.LastEvaluatedKey && last) sk = String(last[`${p.index}SK`]);
    else {
      phase++;
      sk = "";
    }
    if (tasks.length >= options.limit) {
      if (phase >= phases.length) return { tasks };
      // The next page starts where this one stopped (or at the next partition's beginning).
      return { tasks, next: encodeCursor(phase, sk) };
    }
  }
  return { tasks };
}

/** Every task of the bank (head office): the shards in turn, then due first. */
export async function allTasks(repo: Repo, shards: number, status: StatusFilter): Promise<Task[]> {
  const tasks: Task[] = [];
  for (let s = 0; s < shards; s++) tasks.push(...(await queryIndex(repo, "GSI1", allPartition(s), status)));
  return tasks.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.taskId.localeCompare(b.taskId));
}

export type OutcomeResult = { changed: boolean; task: Task };

/**
 * Records what the call gave. `no_answer` logs an attempt and keeps the task open; every other outcome
 * closes it. On a closed task the same outcome again changes nothing, another is a ConflictError.
 */
export async function recordOutcome(
  repo: Repo,
  task: Task,
  input: { outcome: TaskOutcome; note?: string; by: string; at: string },
  shards: number,
): Promise<OutcomeResult> {
  if (task.status === "done") return closedAlready(task, input.outcome);
  const attempt: TaskAttempt = { at: input.at, outcome: input.outcome, by: input.by };
  const closing = input.outcome !== "no_answer";
  const sets = [
    "attemptLog = list_append(if_not_exists(attemptLog, :none), :attempt)",
    "lastAttemptAt = :at",
  ];
  const values: Record<string, unknown> = {
    ":none": [],
    ":attempt": [attempt],
    ":at": input.at,
    ":one": 1,
    ":open": "open",
  };
  if (input.note !== undefined) {
    sets.push("note = :note");
    values[":note"] = input.note;
  }
  if (closing) {
    const idx = indexes({ ...task, status: "done" }, shards);
    sets.push("#status = :done", "outcome = :outcome", "closedBy = :by", "closedAt = :at");
    sets.push("GSI1SK = :sk", "GSI3SK = :sk", ...(idx.GSI2PK ? ["GSI2SK = :sk"] : []));
    Object.assign(values, { ":done": "done", ":outcome": input.outcome, ":by": input.by, ":sk": idx.GSI1SK });
  }
  try {
    const out = await repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: taskKey(task.taskId),
        UpdateExpression: `SET ${sets.join(", ")} ADD attempts :one`,
        ConditionExpression: "#status = :open",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      }),
    );
    return { changed: true, task: strip(out.Attributes ?? {}) };
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    // Someone closed it meanwhile: judged like any closed task.
    const now = await getTask(repo, task.taskId);
    if (!now) throw err;
    return closedAlready(now, input.outcome);
  }
}

function closedAlready(task: Task, outcome: TaskOutcome): OutcomeResult {
  if (task.outcome === outcome) return { changed: false, task };
  throw new ConflictError(
    `task ${task.taskId} is closed with outcome "${task.outcome}"; it cannot also be "${outcome}"`,
    "task_closed",
  );
}

/** Hands an open task to another RM (of the same branch: the use case checks), keeping who had it. */
export async function reassignTask(
  repo: Repo,
  task: Task,
  input: { to: string; by: string; at: string },
): Promise<Task> {
  try {
    const out = await repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: taskKey(task.taskId),
        UpdateExpression:
          "SET rmId = :to, GSI3PK = :pk, handovers = list_append(if_not_exists(handovers, :none), :h)",
        ConditionExpression: "#status = :open AND rmId = :from",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":to": input.to,
          ":pk": rmPartition(input.to),
          ":none": [],
          ":h": [{ from: task.rmId, to: input.to, by: input.by, at: input.at }],
          ":open": "open",
          ":from": task.rmId,
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    return strip(out.Attributes ?? {});
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    throw new ConflictError(
      `task ${task.taskId} changed meanwhile (closed, or reassigned); reload it and try again`,
      "task_changed",
    );
  }
}

/** Right to be forgotten: the note and the rendered script (which may name the customer) leave the task. */
export function scrubTask(repo: Repo, taskId: string, at: string) {
  return conditional(
    repo.ddb.send(
      new UpdateCommand({
        TableName: repo.table,
        Key: taskKey(taskId),
        UpdateExpression: "REMOVE note, #context.script SET forgottenAt = :at",
        ConditionExpression: "attribute_exists(PK)",
        ExpressionAttributeNames: { "#context": "context" },
        ExpressionAttributeValues: { ":at": at },
      }),
    ),
  );
}
