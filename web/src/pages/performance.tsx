import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, RequestError, token } from "../api.ts";
import { currentQuarter } from "../i18n.ts";
import type { PageProps } from "../main.tsx";
import { ErrorBox, fmt, pct, Table } from "./common.tsx";

const STAGES = ["targeted", "eligible", "sent", "delivered", "engaged", "responded", "converted"] as const;

interface PerfRow extends Record<(typeof STAGES)[number], number> {
  branchId: string;
  rmId?: string;
  holdout: number;
  conversionRate: number;
  holdoutConversionRate: number;
  uplift: number;
  upliftCi95: [number, number];
}

interface PerfReport {
  by: "branch" | "rm";
  rows: PerfRow[];
  total: PerfRow;
}

const enc = encodeURIComponent;

/**
 * Branch and RM performance: `#/performance` (every branch), `#/performance/BR001` (that branch's RMs),
 * `#/performance/BR001/RM0001` (one RM). A branch user's page is their branch's; an RM's their own.
 */
export function PerformancePage({ t, me, branchId, rmId }: PageProps & { branchId?: string; rmId?: string }) {
  const branch = branchId ?? me.branchId;
  const by = branch || me.role === "rm" ? "rm" : "branch";
  const [campaigns, setCampaigns] = useState<{ campaignId: string }[]>([]);
  const [campaign, setCampaign] = useState("");
  const [period, setPeriod] = useState("");
  // What is typed, kept apart from the period asked for (committed on leaving the field), so a report
  // arriving while the user types cannot reset the field.
  const [periodDraft, setPeriodDraft] = useState("");
  const [report, setReport] = useState<PerfReport>();
  const [error, setError] = useState<unknown>();
  const query = `by=${by}${branch ? `&branch=${enc(branch)}` : ""}${rmId ? `&rm=${enc(rmId)}` : ""}${
    campaign ? `&campaign=${enc(campaign)}` : ""
  }${period ? `&period=${enc(period)}` : ""}`;
  useEffect(() => {
    if (me.role === "rm" || me.role === "branch_manager") return;
    api<{ campaigns: { campaignId: string }[] }>("GET", "/api/campaigns").then(
      (r) => setCampaigns(r.campaigns),
      () => {},
    );
  }, [me.role]);
  useEffect(() => {
    setReport(undefined);
    setError(undefined);
    // An answer for a query no longer asked (the filters changed since) is dropped.
    let current = true;
    api<PerfReport>("GET", `/api/performance?${query}`).then(
      (r) => current && setReport(r),
      (err) => current && setError(err),
    );
    return () => {
      current = false;
    };
  }, [query]);
  const download = async () => {
    const res = await fetch(`/api/performance?${query}&format=csv`, {
      headers: { authorization: `Bearer ${token.get()}` },
    });
    if (!res.ok) {
      setError(new RequestError(res.status, await res.json()));
      return;
    }
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([await res.text()], { type: "text/csv" }));
    a.download = `performance-${branch ?? "bank"}${rmId ? `-${rmId}` : ""}.csv`;
    a.click();
  };
  const title = [t("performance"), branch, rmId].filter(Boolean).join(" · ");
  const line = (r: PerfRow, label: ComponentChildren) => [
    label,
    ...STAGES.map((s) => fmt(r[s])),
    fmt(r.holdout),
    pct(r.conversionRate),
    pct(r.holdoutConversionRate),
    <span key="u" data-uplift={r.uplift}>
      {pct(r.uplift)} [{pct(r.upliftCi95[0])}, {pct(r.upliftCi95[1])}]
    </span>,
  ];
  return (
    <section>
      <h1>{title}</h1>
      {campaigns.length > 0 && (
        <>
          <label for="pcampaign">{t("campaigns")}</label>{" "}
          <select id="pcampaign" value={campaign} onChange={(e) => setCampaign(e.currentTarget.value)}>
            <option value="">{t("allCampaigns")}</option>
            {campaigns.map((c) => (
              <option key={c.campaignId} value={c.campaignId}>
                {c.campaignId}
              </option>
            ))}
          </select>{" "}
        </>
      )}
      <label for="pperiod">{t("period")}</label>{" "}
      <input
        id="pperiod"
        placeholder="2027Q1 · 2027-03 · 2027-W09"
        value={periodDraft}
        onInput={(e) => setPeriodDraft(e.currentTarget.value)}
        onChange={(e) => setPeriod(e.currentTarget.value.trim())}
      />{" "}
      <button type="button" onClick={download}>
        {t("downloadCsv")}
      </button>
      <ErrorBox error={error} />
      {report && (
        <Table
          head={[
            by === "rm" ? t("rm") : t("branch"),
            ...STAGES.map((s) => t.stage(s)),
            t("holdoutCount"),
            t("convRate"),
            t("control"),
            t("uplift"),
          ]}
          rows={[
            ...report.rows.map((r) =>
              line(
                r,
                by === "rm" ? (
                  <a href={`#/performance/${enc(r.branchId)}/${enc(r.rmId ?? "")}`}>{r.rmId}</a>
                ) : (
                  <a href={`#/performance/${enc(r.branchId)}`}>{r.branchId}</a>
                ),
              ),
            ),
            line(report.total, <strong>Σ</strong>),
          ]}
        />
      )}
    </section>
  );
}

interface IndicatorRow {
  level: "bank" | "branch" | "rm";
  branchId?: string;
  rmId?: string;
  period: string;
  target: number;
  actual: number;
  progress: number;
}

const QUARTER = /^\d{4}Q[1-4]$/;

/** The bank's quarterly indicator, cascaded, with progress; head office sets it here. */
export function IndicatorsPage({ t, me }: PageProps) {
  const [quarter, setQuarter] = useState(() => currentQuarter(me.timeZone));
  const [stage, setStage] = useState("converted");
  const [grain, setGrain] = useState<"quarter" | "month" | "week">("month");
  const [value, setValue] = useState("");
  const [split, setSplit] = useState<"customers" | "equal">("customers");
  const [rows, setRows] = useState<IndicatorRow[]>();
  const [error, setError] = useState<unknown>();
  const [version, setVersion] = useState(0);
  useEffect(() => {
    setRows(undefined);
    setError(undefined);
    if (!QUARTER.test(quarter)) return; // still being typed: nothing to ask for yet
    // A response for a quarter, stage or grain no longer shown (the user typed on) is dropped, so a
    // slow answer cannot replace the newer one.
    let current = true;
    api<{ rows: IndicatorRow[] }>("GET", `/api/indicators/${enc(quarter)}/${enc(stage)}?grain=${grain}`).then(
      (r) => current && setRows(r.rows),
      (err) => current && setError(err),
    );
    return () => {
      current = false;
    };
  }, [quarter, stage, grain, version]);
  const set = async (e: Event) => {
    e.preventDefault();
    try {
      await api("PUT", `/api/indicators/${enc(quarter)}/${enc(stage)}`, { value: Number(value), split });
      setVersion(version + 1);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>{t("indicators")}</h1>
      <label for="iquarter">{t("quarter")}</label>{" "}
      <input id="iquarter" value={quarter} onInput={(e) => setQuarter(e.currentTarget.value.trim())} />{" "}
      <label for="istage">{t("stage")}</label>{" "}
      <select id="istage" value={stage} onChange={(e) => setStage(e.currentTarget.value)}>
        {STAGES.map((s) => (
          <option key={s} value={s}>
            {t.stage(s)}
          </option>
        ))}
      </select>{" "}
      <label for="igrain">{t("grain")}</label>{" "}
      <select id="igrain" value={grain} onChange={(e) => setGrain(e.currentTarget.value as typeof grain)}>
        <option value="quarter">{t("quarter")}</option>
        <option value="month">{t("period")}: M</option>
        <option value="week">{t("period")}: W</option>
      </select>
      {me.role === "admin" && !me.branchId && (
        <form onSubmit={set} class="inline">
          <label for="ivalue">{t("target")}</label>{" "}
          <input
            id="ivalue"
            inputMode="numeric"
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
          />{" "}
          <label for="isplit">{t("split")}</label>{" "}
          <select id="isplit" value={split} onChange={(e) => setSplit(e.currentTarget.value as typeof split)}>
            <option value="customers">{t("splitCustomers")}</option>
            <option value="equal">{t("splitEqual")}</option>
          </select>{" "}
          <button type="submit">{t("setIndicator")}</button>
        </form>
      )}
      <ErrorBox error={error} />
      {rows && (
        <Table
          head={[t("level"), t("branch"), t("rm"), t("period"), t("target"), t("actual"), t("progress")]}
          rows={rows.map((r) => [
            r.level,
            r.branchId ?? "",
            r.rmId ?? "",
            r.period,
            fmt(r.target),
            fmt(r.actual),
            `${r.progress}%`,
          ])}
        />
      )}
    </section>
  );
}

interface BooksResult {
  dryRun: boolean;
  cap: number;
  kept: number;
  claimed: number;
  assigned: number;
  written: number;
  unassigned: number;
  rejected: { line: number; error: string }[];
  unassignedCustomers: { customerId: string; tier: string; branchId: string; reason?: string }[];
  overCap: { rmId: string; customers: number; over: number }[];
  byRm: { rmId: string; claimed: number; assigned: number; book: number }[];
}

/** RM books (000:640): the report (without an RM, over the cap) and the rules A–D. */
export function BooksPage({ t }: PageProps) {
  const [report, setReport] = useState<BooksResult>();
  const [result, setResult] = useState<BooksResult>();
  const [claims, setClaims] = useState("");
  const [cap, setCap] = useState("");
  const [dryRun, setDryRun] = useState(true);
  const [error, setError] = useState<unknown>();
  const [version, setVersion] = useState(0);
  useEffect(() => {
    api<BooksResult>("GET", `/api/books${cap ? `?cap=${enc(cap)}` : ""}`).then(setReport, setError);
  }, [version, cap]);
  const run = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const lines = claims
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const [customerId = "", rmId = ""] = l.split(/[,\s]+/);
        return { customerId, rmId };
      });
    try {
      setResult(
        await api<BooksResult>("POST", "/api/books/assign", {
          ...(lines.length ? { claims: lines } : {}),
          ...(cap ? { cap: Number(cap) } : {}),
          dryRun,
        }),
      );
      setVersion(version + 1);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>{t("books")}</h1>
      <form onSubmit={run}>
        <label for="bclaims">{t("claims")}</label>
        <textarea id="bclaims" rows={4} value={claims} onInput={(e) => setClaims(e.currentTarget.value)} />
        <label for="bcap">{t("cap")}</label>{" "}
        <input
          id="bcap"
          inputMode="numeric"
          placeholder={report ? String(report.cap) : ""}
          value={cap}
          onChange={(e) => setCap(e.currentTarget.value.trim())}
        />{" "}
        <label>
          <input type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.currentTarget.checked)} />{" "}
          {t("dryRun")}
        </label>{" "}
        <button type="submit">{t("runRules")}</button>
      </form>
      <ErrorBox error={error} />
      {result && (
        <div class="card" data-books-result>
          <p>
            {t("kept")} {fmt(result.kept)} · {t("claimed")} {fmt(result.claimed)} · {t("assigned")}{" "}
            {fmt(result.assigned)} · {t("withoutRm")} {fmt(result.unassigned)}
          </p>
          {result.rejected.length > 0 && (
            <Table
              caption={t("refused")}
              head={["#", t("reason")]}
              rows={result.rejected.map((r) => [r.line, r.error])}
            />
          )}
          <Table
            head={[t("rm"), t("claimed"), t("assigned"), t("count")]}
            rows={result.byRm.map((r) => [r.rmId, fmt(r.claimed), fmt(r.assigned), fmt(r.book)])}
          />
        </div>
      )}
      {report && (
        <>
          <Table
            caption={`${t("withoutRm")}: ${fmt(report.unassigned)}`}
            head={["ID", t("tier"), t("branch")]}
            rows={report.unassignedCustomers
              .slice(0, 200)
              .map((c) => [c.customerId, t.term(c.tier), c.branchId])}
          />
          <Table
            caption={`${t("overCap")} (${fmt(report.cap)})`}
            head={[t("rm"), t("count"), "+"]}
            rows={report.overCap.map((r) => [r.rmId, fmt(r.customers), fmt(r.over)])}
          />
        </>
      )}
    </section>
  );
}
