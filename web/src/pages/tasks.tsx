import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import type { PageProps } from "../main.tsx";
import { ErrorBox, fmt } from "./common.tsx";

const OUTCOMES = ["reached", "appointment", "interested", "declined", "no_answer", "wrong_number"] as const;

interface TaskRow {
  taskId: string;
  rmId: string;
  customerId: string;
  campaignId: string;
  status: "open" | "done";
  dueAt: string;
  attempts: number;
  outcome?: string;
  priority: "high" | "normal" | "low";
  branchId: string | null;
  note?: string;
  closedBy?: string;
  closedAt?: string;
  context: {
    tier: string;
    aumBand?: { min: number; max?: number };
    lastContactAt?: string;
    lastContactChannel?: string;
    products?: string[];
    campaignName?: string;
    playbook?: string;
    script?: string;
  };
  customer?: { name: string | null; phone: string | null } | null;
}

const PAGE = 50;

const taskHref = (id: string) => `#/task/${encodeURIComponent(id)}`;

function band(t: PageProps["t"], b: TaskRow["context"]["aumBand"]) {
  if (!b) return "";
  const wan = (n: number) => (t.lang === "zh" ? `${fmt(n / 10_000)}万` : fmt(n));
  return b.max === undefined ? `≥ ${wan(b.min)}` : `${wan(b.min)}–${wan(b.max)}`;
}

/** The RM's (or the branch's) open work as cards: a phone-width list, due first. */
export function TaskList({ t, me }: PageProps) {
  const [status, setStatus] = useState<"open" | "done" | "all">("open");
  const [overdue, setOverdue] = useState(false);
  const [due, setDue] = useState("");
  const [rows, setRows] = useState<TaskRow[]>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  // A page at a time (an RM may hold hundreds): "load more" follows the API's cursor.
  const query = `/api/tasks?status=${status}&limit=${PAGE}${overdue ? "&overdue=true" : ""}${/^\d{4}-\d{2}-\d{2}$/.test(due) ? `&due=${due}` : ""}`;
  const fetchPage = (cursor?: string) =>
    api<{ tasks: TaskRow[]; next: string | null }>(
      "GET",
      `${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
  useEffect(() => {
    setRows(undefined);
    setError(undefined);
    fetchPage().then((r) => {
      setRows(r.tasks);
      setNext(r.next);
    }, setError);
  }, [query]);
  const more = async () => {
    if (!next) return;
    try {
      const r = await fetchPage(next);
      setRows([...(rows ?? []), ...r.tasks]);
      setNext(r.next);
    } catch (err) {
      setError(err);
    }
  };
  const now = Date.now();
  return (
    <section>
      <h1>{t("tasks")}</h1>
      <label for="tstatus">{t("status")}</label>{" "}
      <select id="tstatus" value={status} onChange={(e) => setStatus(e.currentTarget.value as typeof status)}>
        <option value="open">{t.term("open")}</option>
        <option value="done">{t.term("done")}</option>
        <option value="all">{t("allTasks")}</option>
      </select>{" "}
      <label>
        <input type="checkbox" checked={overdue} onChange={(e) => setOverdue(e.currentTarget.checked)} />{" "}
        {t("overdueOnly")}
      </label>{" "}
      <label for="tdue">{t("dueBy")}</label>{" "}
      <input id="tdue" type="date" value={due} onInput={(e) => setDue(e.currentTarget.value)} />
      <ErrorBox error={error} />
      {rows && rows.length === 0 && <p>{t("noTasks")}</p>}
      <ul class="tasks">
        {rows?.map((r) => (
          <li key={r.taskId} class={`task p-${r.priority}`} data-task={r.taskId}>
            <a href={taskHref(r.taskId)}>
              <strong>{r.customerId}</strong> · {t.term(r.context.tier)} · {t.term(r.priority)}
            </a>
            <div class="meta">
              {t("due")} {t.date(r.dueAt)}
              {r.status === "open" && Date.parse(r.dueAt) < now ? ` · ${t("overdue")}` : ""}
              {me.role !== "rm" ? ` · ${r.rmId}` : ""}
            </div>
            <div class="meta">
              {r.context.campaignName ?? r.campaignId} · {t("attempts")} {r.attempts}
              {r.outcome ? ` · ${t.term(r.outcome)}` : ""}
            </div>
          </li>
        ))}
      </ul>
      {next && (
        <button type="button" class="secondary more" onClick={() => void more()}>
          {t("more")}
        </button>
      )}
    </section>
  );
}

/** One task: the customer to call, the script, and the outcome form (a handover for the branch manager). */
export function TaskDetail({ t, me, go, taskId }: PageProps & { taskId: string }) {
  const [task, setTask] = useState<TaskRow>();
  const [outcome, setOutcome] = useState<(typeof OUTCOMES)[number]>("reached");
  const [note, setNote] = useState("");
  const [to, setTo] = useState("");
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState("");
  const path = `/api/tasks/${encodeURIComponent(taskId)}`;
  const load = () => api<TaskRow>("GET", path).then(setTask, setError);
  useEffect(() => {
    load();
  }, [taskId]);
  const complete = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await api("POST", `${path}/complete`, { outcome, ...(note.trim() ? { note: note.trim() } : {}) });
      setSaved(t("saved"));
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const reassign = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await api("POST", `${path}/reassign`, { to: to.trim() });
      go("#/tasks");
    } catch (err) {
      setError(err);
    }
  };
  if (!task) return <ErrorBox error={error} />;
  const c = task.context;
  return (
    <section class="task-detail">
      <p>
        <a href="#/tasks">{t("back")}</a>
      </p>
      <h1>
        {task.customer?.name ?? task.customerId} <span class="hint">{task.customerId}</span>
      </h1>
      {task.customer?.phone && (
        <p>
          <a class="call" href={`tel:${task.customer.phone}`}>
            {t("call")} {task.customer.phone}
          </a>
        </p>
      )}
      <dl class="facts">
        <dt>{t("tier")}</dt>
        <dd>{t.term(c.tier)}</dd>
        <dt>{t("aumBand")}</dt>
        <dd>{band(t, c.aumBand)}</dd>
        <dt>{t("lastContact")}</dt>
        <dd>
          {c.lastContactAt ? `${t.date(c.lastContactAt)} · ${t.term(c.lastContactChannel ?? "")}` : t("none")}
        </dd>
        <dt>{t("due")}</dt>
        <dd>{t.date(task.dueAt)}</dd>
        <dt>{t("status")}</dt>
        <dd data-status={task.status}>
          {t.term(task.status)}
          {task.outcome ? ` · ${t.term(task.outcome)}` : ""}
        </dd>
        <dt>{t("attempts")}</dt>
        <dd>{task.attempts}</dd>
        {c.products?.length ? (
          <>
            <dt>{t("products")}</dt>
            <dd>{c.products.join(", ")}</dd>
          </>
        ) : null}
      </dl>
      {c.script && (
        <>
          <h2>{t("script")}</h2>
          <p class="script">{c.script}</p>
        </>
      )}
      {task.status === "open" && (
        <form class="grid" onSubmit={complete}>
          <label for="outcome">{t("outcome")}</label>
          <select
            id="outcome"
            value={outcome}
            onChange={(e) => setOutcome(e.currentTarget.value as (typeof OUTCOMES)[number])}
          >
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {t.term(o)}
              </option>
            ))}
          </select>
          <label for="note">{t("note")}</label>
          <textarea id="note" value={note} maxLength={2000} onInput={(e) => setNote(e.currentTarget.value)} />
          <span />
          <button type="submit">{t("recordOutcome")}</button>
        </form>
      )}
      {task.status === "open" && me.role !== "rm" && (
        <form class="grid" onSubmit={reassign}>
          <label for="to">{t("reassignTo")}</label>
          <input id="to" value={to} onInput={(e) => setTo(e.currentTarget.value)} required />
          <span />
          <button type="submit" class="secondary">
            {t("reassign")}
          </button>
        </form>
      )}
      {saved && <p role="status">{saved}</p>}
      {task.note && (
        <p>
          {t("note")}: {task.note}
        </p>
      )}
      <ErrorBox error={error} />
    </section>
  );
}
