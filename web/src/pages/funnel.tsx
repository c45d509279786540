import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api, ledgerCsv } from "../api.ts";
import type { PageProps } from "../main.tsx";
import { type CampaignSummary, ErrorBox, fmt, pct, Table } from "./common.tsx";

const STAGES = ["targeted", "eligible", "sent", "delivered", "engaged", "responded", "converted"] as const;
type Counts = Record<(typeof STAGES)[number], number>;

interface TierFunnel extends Counts {
  holdout: number;
  holdoutConverted: number;
  conversionRate: number;
  holdoutConversionRate: number;
  uplift: number;
  upliftCi95: [number, number];
  incrementalConversions: number;
}

type Unique = { opened: number; clicked: number; replied: number };
const UNIQUE = ["opened", "clicked", "replied"] as const;

interface Funnel {
  campaignId: string;
  status: string;
  total: Counts & {
    uplift: number;
    upliftCi95: [number, number];
    holdout: number;
    incrementalConversions: number;
  };
  byTier: Record<string, TierFunnel>;
  byDay: Record<string, Counts>;
  unique?: { total: Unique; byTier: Record<string, Unique> };
  method: string;
  targets: { period: string; tier: string; stage: string; value: number; actual: number; progress: number }[];
}

/** A difference of two rates, in percentage points (a rate itself is shown in %). */
const pp = (x: number, t: PageProps["t"]) => `${(x * 100).toFixed(2)} ${t("pp")}`;

/**
 * Uplift per tier with its 95% interval: a point and a bar on a scale in percentage points, the zero
 * line marked, ticks at the ends and zero, and a legend in the chosen language.
 */
function UpliftBars({
  rows,
  label,
  t,
}: {
  rows: [string, number, [number, number]][];
  label: string;
  t: PageProps["t"];
}) {
  const lo = Math.min(0, ...rows.map((r) => r[2][0]));
  const hi = Math.max(0, ...rows.map((r) => r[2][1]));
  const span = hi - lo || 1;
  const x = (v: number) => 110 + ((v - lo) / span) * 340;
  const bottom = rows.length * 28 + 8;
  // Ticks at the ends and at zero, zero left out when it would print over an end's label.
  const ticks = [lo, hi, ...(Math.min(x(0) - x(lo), x(hi) - x(0)) >= 60 ? [0] : [])];
  return (
    <svg viewBox={`0 0 580 ${bottom + 56}`} role="img" aria-label={label} class="uplift">
      <line x1={x(0)} x2={x(0)} y1="0" y2={bottom} class="zero" />
      {rows.map(([name, u, [a, b]], i) => (
        <g key={name} transform={`translate(0 ${i * 28 + 14})`}>
          <text x="0" y="4">
            {name}
          </text>
          <line x1={x(a)} x2={x(b)} y1="0" y2="0" class="ci" />
          <circle cx={x(u)} cy="0" r="4" />
          <text x="470" y="4">
            {pp(u, t)}
          </text>
        </g>
      ))}
      <g class="axis" data-testid="uplift-axis">
        <line x1={x(lo)} x2={x(hi)} y1={bottom} y2={bottom} />
        {[...new Set(ticks)].map((v) => (
          <g key={v}>
            <line x1={x(v)} x2={x(v)} y1={bottom} y2={bottom + 5} />
            <text x={x(v)} y={bottom + 18} text-anchor="middle">
              {pp(v, t)}
            </text>
          </g>
        ))}
      </g>
      <g class="legend" transform={`translate(110 ${bottom + 40})`} data-testid="uplift-legend">
        <circle cx="4" cy="-4" r="4" />
        <text x="14" y="0">
          {t("upliftPoint")}
        </text>
        <line x1="230" x2="260" y1="-4" y2="-4" class="ci" />
        <text x="268" y="0">
          {t("ci95")}
        </text>
      </g>
    </svg>
  );
}

function DayChart({ byDay, t }: { byDay: Record<string, Counts>; t: PageProps["t"] }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    // Days are the bank's calendar days (the API buckets them in its zone): shown as they are, by index.
    const days = Object.keys(byDay).sort();
    const series = ["sent", "delivered", "engaged", "converted"] as const;
    const colors = ["#2563eb", "#16a34a", "#d97706", "#dc2626"];
    const plot = new uPlot(
      {
        width: Math.min(760, el.current.clientWidth || 760),
        height: 260,
        series: [
          { label: t("day"), value: (_u, i) => (i === null ? "" : (days[i] ?? "")) },
          ...series.map((s, i) => ({ label: t.stage(s), stroke: colors[i], width: 2 })),
        ],
        axes: [
          {
            label: t("day"),
            values: (_u, splits) => splits.map((i) => (Number.isInteger(i) ? (days[i]?.slice(5) ?? "") : "")),
          },
          { label: t("recipients"), values: (_u, splits) => splits.map((v) => fmt(v)) },
        ],
        scales: { x: { time: false, range: () => [-0.5, Math.max(0.5, days.length - 0.5)] } },
      },
      [days.map((_d, i) => i), ...series.map((s) => days.map((d) => byDay[d]?.[s] ?? 0))],
      el.current,
    );
    return () => plot.destroy();
  }, [byDay, t.lang]);
  return <div ref={el} role="img" aria-label={t("byDay")} data-testid="day-chart" />;
}

export function FunnelPage({ t, go, campaignId }: PageProps & { campaignId?: string }) {
  const [campaigns, setCampaigns] = useState<CampaignSummary[]>([]);
  const [funnel, setFunnel] = useState<Funnel>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api<{ campaigns: CampaignSummary[] }>("GET", "/api/campaigns").then(
      (r) => setCampaigns(r.campaigns),
      setError,
    );
  }, []);
  useEffect(() => {
    setFunnel(undefined);
    if (campaignId)
      api<Funnel>("GET", `/api/campaigns/${encodeURIComponent(campaignId)}/funnel`).then(setFunnel, setError);
  }, [campaignId]);
  const download = async () => {
    try {
      const csv = await ledgerCsv(campaignId!);
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      a.download = `${campaignId}-ledger.csv`;
      a.click();
    } catch (err) {
      setError(err);
    }
  };
  const tiers = funnel ? Object.entries(funnel.byTier) : [];
  return (
    <section>
      <h1>{t("funnel")}</h1>
      <label for="fc">{t("campaigns")}</label>{" "}
      <select
        id="fc"
        value={campaignId ?? ""}
        onChange={(e) => go(`#/funnel/${encodeURIComponent(e.currentTarget.value)}`)}
      >
        <option value="">—</option>
        {campaigns.map((c) => (
          <option key={c.campaignId} value={c.campaignId}>
            {c.name === c.campaignId ? c.campaignId : `${c.name} (${c.campaignId})`}
          </option>
        ))}
      </select>
      <ErrorBox error={error} />
      {funnel && (
        <>
          <h2>{funnel.campaignId}</h2>
          <Table
            caption={`${t("funnel")}: ${t("cumulative")} | ${t("uniqueEvents")}`}
            head={[
              t("tier"),
              ...STAGES.map((s) => t.stage(s)),
              ...UNIQUE.map((u) => (
                <span class="unique-head">
                  {t(u === "opened" ? "opens" : u === "clicked" ? "clicks" : "replies")}
                </span>
              )),
              t("holdoutCount"),
            ]}
            rows={[
              ...tiers.map(([tier, f]) => [
                t.term(tier),
                ...STAGES.map((s) => <Bar n={f[s]} of={f.targeted} />),
                ...UNIQUE.map((u) => fmt(funnel.unique?.byTier[tier]?.[u] ?? 0)),
                fmt(f.holdout),
              ]),
              [
                <strong>Σ</strong>,
                ...STAGES.map((s) => <strong data-testid={`total-${s}`}>{fmt(funnel.total[s])}</strong>),
                ...UNIQUE.map((u) => (
                  <strong data-testid={`unique-${u}`}>{fmt(funnel.unique?.total[u] ?? 0)}</strong>
                )),
                fmt(funnel.total.holdout),
              ],
            ]}
          />
          <h2>{t("uplift")}</h2>
          <p class="hint">{funnel.method}</p>
          <UpliftBars
            t={t}
            label={t("uplift")}
            rows={[
              ...tiers.map(
                ([tier, f]) => [t.term(tier), f.uplift, f.upliftCi95] as [string, number, [number, number]],
              ),
              ["Σ", funnel.total.uplift, funnel.total.upliftCi95],
            ]}
          />
          <Table
            head={[t("tier"), t("treated"), t("control"), t("uplift"), t("incremental")]}
            rows={tiers.map(([tier, f]) => [
              t.term(tier),
              pct(f.conversionRate),
              pct(f.holdoutConversionRate),
              `${pp(f.uplift, t)} [${pp(f.upliftCi95[0], t)}, ${pp(f.upliftCi95[1], t)}]`,
              fmt(Math.round(f.incrementalConversions)),
            ])}
          />
          <h2>{t("byDay")}</h2>
          <DayChart byDay={funnel.byDay} t={t} />
          <h2>{t("targets")}</h2>
          {funnel.targets.length === 0 ? (
            <p>{t("none")}</p>
          ) : (
            <Table
              head={[t("period"), t("tier"), t("stage"), t("target"), t("actual"), t("progress")]}
              rows={funnel.targets.map((g) => [
                g.period,
                g.tier === "all" ? t("allTiers") : t.term(g.tier),
                t.stage(g.stage),
                fmt(g.value),
                fmt(g.actual),
                <progress max={100} value={Math.min(100, g.progress)}>
                  {g.progress}%
                </progress>,
              ])}
            />
          )}
          <div class="actions">
            <button type="button" onClick={download}>
              {t("export")}
            </button>
          </div>
        </>
      )}
    </section>
  );
}

const Bar = ({ n, of }: { n: number; of: number }) => (
  <span class="bar" title={String(n)}>
    <span style={{ width: `${of ? Math.max(2, (n / of) * 100) : 0}%` }} />
    {fmt(n)}
  </span>
);
