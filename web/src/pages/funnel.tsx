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
  method: string;
  targets: { period: string; tier: string; stage: string; value: number; actual: number; progress: number }[];
}

function UpliftBars({ rows, label }: { rows: [string, number, [number, number]][]; label: string }) {
  const lo = Math.min(0, ...rows.map((r) => r[2][0]));
  const hi = Math.max(0, ...rows.map((r) => r[2][1]));
  const span = hi - lo || 1;
  const x = (v: number) => 110 + ((v - lo) / span) * 360;
  return (
    <svg viewBox={`0 0 560 ${rows.length * 28 + 24}`} role="img" aria-label={label} class="uplift">
      <line x1={x(0)} x2={x(0)} y1="0" y2={rows.length * 28 + 8} class="zero" />
      {rows.map(([name, u, [a, b]], i) => (
        <g key={name} transform={`translate(0 ${i * 28 + 14})`}>
          <text x="0" y="4">
            {name}
          </text>
          <line x1={x(a)} x2={x(b)} y1="0" y2="0" class="ci" />
          <circle cx={x(u)} cy="0" r="4" />
          <text x="480" y="4">
            {`${(u * 100).toFixed(2)} pp`}
          </text>
        </g>
      ))}
    </svg>
  );
}

function DayChart({ byDay, t }: { byDay: Record<string, Counts>; t: PageProps["t"] }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const days = Object.keys(byDay).sort();
    const series = ["sent", "delivered", "engaged", "converted"] as const;
    const colors = ["#2563eb", "#16a34a", "#d97706", "#dc2626"];
    const plot = new uPlot(
      {
        width: Math.min(760, el.current.clientWidth || 760),
        height: 240,
        series: [{}, ...series.map((s, i) => ({ label: t.stage(s), stroke: colors[i], width: 2 }))],
        axes: [{}, {}],
        scales: { x: { time: true } },
      },
      [
        days.map((d) => Date.parse(`${d}T00:00:00+08:00`) / 1000),
        ...series.map((s) => days.map((d) => byDay[d]?.[s] ?? 0)),
      ],
      el.current,
    );
    return () => plot.destroy();
  }, [byDay]);
  return <div ref={el} role="img" aria-label={t("byDay")} />;
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
            {c.campaignId}
          </option>
        ))}
      </select>
      <ErrorBox error={error} />
      {funnel && (
        <>
          <h2>{funnel.campaignId}</h2>
          <Table
            caption={t("funnel")}
            head={[t("tier"), ...STAGES.map((s) => t.stage(s)), t("holdoutCount")]}
            rows={[
              ...tiers.map(([tier, f]) => [
                t.term(tier),
                ...STAGES.map((s) => <Bar n={f[s]} of={f.targeted} />),
                fmt(f.holdout),
              ]),
              [
                <strong>Σ</strong>,
                ...STAGES.map((s) => <strong data-testid={`total-${s}`}>{fmt(funnel.total[s])}</strong>),
                fmt(funnel.total.holdout),
              ],
            ]}
          />
          <h2>{t("uplift")}</h2>
          <p class="hint">{funnel.method}</p>
          <UpliftBars
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
              `${pct(f.uplift)} [${pct(f.upliftCi95[0])}, ${pct(f.upliftCi95[1])}]`,
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
