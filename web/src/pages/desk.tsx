import { useEffect, useState } from "preact/hooks";
import { api, RequestError, token } from "../api.ts";
import type { PageProps } from "../main.tsx";
import { ConfirmButton, ErrorBox, fmt, Table } from "./common.tsx";

interface RmRow {
  rmId: string;
  branchId: string | null;
  user: boolean;
  open: number;
  overdue: number;
}

interface OverdueTask {
  taskId: string;
  rmId: string;
  customerId: string;
  dueAt: string;
  attempts: number;
  context: { tier: string; campaignName?: string };
}

const taskHref = (id: string) => `#/task/${encodeURIComponent(id)}`;

/**
 * The branch manager's desk: the branch's RMs with their open and overdue work, the overdue tasks with a
 * reassign each, and the handover of a leaving RM's open tasks (each task keeps who had it).
 */
export function BranchDesk({ t }: PageProps) {
  const [rms, setRms] = useState<RmRow[]>();
  const [overdue, setOverdue] = useState<OverdueTask[]>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [targets, setTargets] = useState<Record<string, string>>({});
  const load = async () => {
    try {
      const [r, o] = await Promise.all([
        api<{ rms: RmRow[] }>("GET", "/api/rms"),
        api<{ tasks: OverdueTask[] }>("GET", "/api/tasks?overdue=true&limit=200"),
      ]);
      setRms(r.rms);
      setOverdue(o.tasks);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    void load();
  }, []);
  const users = (rms ?? []).filter((r) => r.user).map((r) => r.rmId);
  const reassign = async (taskId: string) => {
    setError(undefined);
    setSaved("");
    try {
      await api("POST", `/api/tasks/${encodeURIComponent(taskId)}/reassign`, { to: targets[taskId] });
      setSaved(`${t("reassigned")}: ${taskId} → ${targets[taskId]}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const handover = async () => {
    setError(undefined);
    setSaved("");
    try {
      const r = await api<{ moved: number; customers: number }>(
        "POST",
        `/api/rms/${encodeURIComponent(from)}/handover`,
        { to },
      );
      setSaved(
        `${t("handedOver")}: ${from} → ${to}, ${t("openTasks")} ${fmt(r.moved)}, ${t("bookCustomers")} ${fmt(r.customers)}`,
      );
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const select = (id: string, value: string, set: (v: string) => void, label: string, exclude?: string) => (
    <select id={id} aria-label={label} value={value} onChange={(e) => set(e.currentTarget.value)}>
      <option value="">—</option>
      {users
        .filter((u) => u !== exclude)
        .map((u) => (
          <option key={u} value={u}>
            {u}
          </option>
        ))}
    </select>
  );
  return (
    <section class="desk">
      <h1>{t("branchDesk")}</h1>
      <ErrorBox error={error} />
      {saved && <p role="status">{saved}</p>}
      <h2>{t("branchRms")}</h2>
      {rms && (
        <div class="scroll">
          <Table
            head={[t("rm"), t("openTasks"), t("overdueTasks")]}
            rows={rms.map((r) => [
              <span key="id" data-rm={r.rmId}>
                {r.rmId}
                {r.user ? "" : ` (${t("notAUser")})`}
              </span>,
              fmt(r.open),
              fmt(r.overdue),
            ])}
          />
        </div>
      )}
      <h2>{t("handover")}</h2>
      <p class="hint">{t("handoverHelp")}</p>
      <div class="grid">
        <label for="hfrom">{t("handoverFrom")}</label>
        <select id="hfrom" value={from} onChange={(e) => setFrom(e.currentTarget.value)}>
          <option value="">—</option>
          {(rms ?? [])
            .filter((r) => r.open > 0)
            .map((r) => (
              <option key={r.rmId} value={r.rmId}>
                {r.rmId} ({fmt(r.open)})
              </option>
            ))}
        </select>
        <label for="hto">{t("handoverTo")}</label>
        {select("hto", to, setTo, t("handoverTo"), from)}
        <span />
        <ConfirmButton
          t={t}
          label={t("handover")}
          question={t("confirmHandover")}
          disabled={!from || !to || from === to}
          onConfirm={() => void handover()}
        />
      </div>
      <h2>{t("overdueWork")}</h2>
      {overdue && overdue.length === 0 && <p>{t("noTasks")}</p>}
      <ul class="tasks">
        {overdue?.map((task) => (
          <li key={task.taskId} class="task" data-task={task.taskId}>
            <a href={taskHref(task.taskId)}>
              <strong>{task.customerId}</strong> · {t.term(task.context.tier)} · {task.rmId}
            </a>
            <div class="meta">
              {t("due")} {t.date(task.dueAt)} · {t("attempts")} {task.attempts}
            </div>
            <div class="row">
              {select(
                `to-${task.taskId}`,
                targets[task.taskId] ?? "",
                (v) => setTargets({ ...targets, [task.taskId]: v }),
                `${t("reassignTo")} ${task.customerId}`,
                task.rmId,
              )}
              <button
                type="button"
                class="secondary"
                disabled={!targets[task.taskId]}
                onClick={() => void reassign(task.taskId)}
              >
                {t("reassign")}
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

interface PlanRow {
  class: string;
  role: string;
  branchId: string;
  required: number;
  done: number;
  missing: number;
  unassigned: number;
}

const thisMonth = () => new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7);

/** The corporate contact plan (000:547): per class × role × branch, required, done and missing. */
export function PlansPage({ t, go, month: asked }: PageProps & { month?: string }) {
  const month = asked && /^\d{4}-\d{2}$/.test(asked) ? asked : thisMonth();
  const [rows, setRows] = useState<PlanRow[]>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true; // a slower answer for a month no longer shown is dropped
    setRows(undefined);
    setError(undefined);
    api<{ rows: PlanRow[] }>("GET", `/api/plans/${month}`).then(
      (r) => live && setRows(r.rows),
      (err) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [month]);
  const total = (k: "required" | "done" | "missing") => (rows ?? []).reduce((n, r) => n + r[k], 0);
  return (
    <section>
      <h1>{t("contactPlan")}</h1>
      <label for="pmonth">{t("month")}</label>{" "}
      <input
        id="pmonth"
        type="month"
        value={month}
        onInput={(e) => /^\d{4}-\d{2}$/.test(e.currentTarget.value) && go(`#/plans/${e.currentTarget.value}`)}
      />
      <ErrorBox error={error} />
      {rows && rows.length === 0 && <p>{t("noPlan")}</p>}
      {rows && rows.length > 0 && (
        <div class="scroll">
          <Table
            caption={`${t("required")} ${fmt(total("required"))} · ${t("doneCount")} ${fmt(total("done"))} · ${t("missing")} ${fmt(total("missing"))}`}
            head={[t("class"), t("role"), t("branch"), t("required"), t("doneCount"), t("missing")]}
            rows={rows.map((r) => [
              t.term(r.class),
              t.term(r.role),
              r.branchId,
              fmt(r.required),
              fmt(r.done),
              <span key="m" class={r.missing > 0 ? "missing" : undefined} data-missing={r.missing}>
                {fmt(r.missing)}
                {r.unassigned > 0 ? ` (${t("unassigned")} ${fmt(r.unassigned)})` : ""}
              </span>,
            ])}
          />
        </div>
      )}
    </section>
  );
}

interface Reward {
  campaignId: string;
  referrerId: string;
  refereeId: string;
  reward: string;
  at: string;
  status: "due" | "paid";
  paidAt?: string;
  reference?: string;
}

/** Referral rewards: listed, exported as CSV for the bank's settlement, and marked paid (admins, confirmed). */
export function RewardsPage({ t, me }: PageProps) {
  const [status, setStatus] = useState<"due" | "paid" | "all">("due");
  const [rows, setRows] = useState<Reward[]>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState("");
  const load = () =>
    api<{ rewards: Reward[] }>("GET", `/api/rewards?status=${status}`).then(
      (r) => setRows(r.rewards),
      setError,
    );
  useEffect(() => {
    setRows(undefined);
    void load();
  }, [status]);
  const exportCsv = async () => {
    setError(undefined);
    try {
      const res = await fetch(`/api/rewards?status=${status}&format=csv`, {
        headers: { authorization: `Bearer ${token.get()}` },
      });
      if (!res.ok) throw new RequestError(res.status, await res.json());
      const url = URL.createObjectURL(new Blob([await res.text()], { type: "text/csv" }));
      const a = Object.assign(document.createElement("a"), { href: url, download: `rewards-${status}.csv` });
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1_000);
    } catch (err) {
      setError(err);
    }
  };
  const pay = async (r: Reward, reference: string) => {
    setError(undefined);
    setSaved("");
    try {
      await api(
        "POST",
        `/api/rewards/${encodeURIComponent(r.campaignId)}/${encodeURIComponent(r.referrerId)}/pay`,
        {
          reference,
        },
      );
      setSaved(`${t("paid")}: ${r.referrerId}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>{t("rewards")}</h1>
      <div class="actions">
        <label for="rstatus">{t("status")}</label>
        <select
          id="rstatus"
          value={status}
          onChange={(e) => setStatus(e.currentTarget.value as typeof status)}
        >
          <option value="due">{t.term("due")}</option>
          <option value="paid">{t.term("paid")}</option>
          <option value="all">{t("allTasks")}</option>
        </select>
        <button type="button" class="secondary" onClick={() => void exportCsv()}>
          {t("exportRewards")}
        </button>
      </div>
      <ErrorBox error={error} />
      {saved && <p role="status">{saved}</p>}
      {rows && rows.length === 0 && <p>{t("noRewards")}</p>}
      {rows && rows.length > 0 && (
        <div class="scroll">
          <Table
            head={[
              t("campaignId"),
              t("referrer"),
              t("referee"),
              t("reward"),
              t("at"),
              t("status"),
              ...(me.role === "admin" ? [t("action")] : []),
            ]}
            rows={rows.map((r) => [
              r.campaignId,
              <span key="ref" data-referrer={r.referrerId}>
                {r.referrerId}
              </span>,
              r.refereeId,
              r.reward,
              t.date(r.at),
              <span key="s" data-status={r.status}>
                {t.term(r.status)}
                {r.reference ? ` · ${r.reference}` : ""}
              </span>,
              ...(me.role === "admin"
                ? [
                    r.status === "due" ? (
                      <ConfirmButton
                        key="pay"
                        t={t}
                        label={t("markPaid")}
                        question={t("confirmPay")}
                        reasonLabel={t("settlementRef")}
                        onConfirm={(reference) => void pay(r, reference)}
                      />
                    ) : (
                      ""
                    ),
                  ]
                : []),
            ])}
          />
        </div>
      )}
    </section>
  );
}
