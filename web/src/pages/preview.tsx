import type { PreviewResult } from "../../../functions/campaign/preview-result.ts";
import type { T } from "../i18n.ts";
import { fmt, Table } from "./common.tsx";

/**
 * The dry run the API answers: the API's own type, from a types-only module with no imports that
 * both tsconfigs compile (a type import is erased from the bundle).
 */
export type Preview = PreviewResult;

/** A count the estimate answers: scaled to the population, with its 95% interval. */
export interface Estimated {
  estimate: number;
  low: number;
  high: number;
}

/** The builder's sampled estimate (POST /api/estimate). */
export interface Estimate {
  campaignId: string;
  problems: string[];
  method: "sample" | "exact";
  sample: { customersRead: number; decided: number };
  audience: Estimated;
  eligible: Estimated;
  deferred: Estimated;
  holdout: Estimated;
  excluded: Record<string, Estimated>;
  byTier: Record<
    string,
    {
      audience: Estimated;
      eligible: Estimated;
      deferred: Estimated;
      holdout: Estimated;
      excluded: Estimated;
      excludedBy: Record<string, Estimated>;
    }
  >;
  byVariant: Record<string, { channel: string; eligible: Estimated; deferred: Estimated }>;
  sms: { messages: Estimated; parts: Estimated; estimatedCost: Estimated };
  samples: Preview["samples"];
  notes: string[];
}

/** Intervals by the path PreviewSummary shows a count under (`audience`, `tier.mass.eligible`, …). */
export type Ranges = Record<string, Estimated>;

/** The estimate as a preview of its point estimates, with the intervals beside. */
export function fromEstimate(e: Estimate): { preview: Preview; ranges: Ranges } {
  const ranges: Ranges = {};
  const take = (path: string, c: Estimated) => {
    ranges[path] = c;
    return c.estimate;
  };
  const preview: Preview = {
    campaignId: e.campaignId,
    problems: e.problems,
    audience: take("audience", e.audience),
    eligible: take("eligible", e.eligible),
    deferred: take("deferred", e.deferred),
    holdout: take("holdout", e.holdout),
    excluded: Object.fromEntries(Object.entries(e.excluded).map(([r, c]) => [r, take(`excluded.${r}`, c)])),
    byTier: Object.fromEntries(
      Object.entries(e.byTier).map(([tier, t]) => [
        tier,
        {
          audience: take(`tier.${tier}.audience`, t.audience),
          eligible: take(`tier.${tier}.eligible`, t.eligible),
          deferred: take(`tier.${tier}.deferred`, t.deferred),
          holdout: take(`tier.${tier}.holdout`, t.holdout),
          excluded: take(`tier.${tier}.excluded`, t.excluded),
          excludedBy: Object.fromEntries(
            Object.entries(t.excludedBy).map(([r, c]) => [r, take(`tier.${tier}.excludedBy.${r}`, c)]),
          ),
        },
      ]),
    ),
    byVariant: Object.fromEntries(
      Object.entries(e.byVariant).map(([v, r]) => [
        v,
        {
          channel: r.channel,
          eligible: take(`variant.${v}.eligible`, r.eligible),
          deferred: take(`variant.${v}.deferred`, r.deferred),
          smsParts: 0,
        },
      ]),
    ),
    sms: {
      messages: take("sms.messages", e.sms.messages),
      parts: take("sms.parts", e.sms.parts),
      estimatedCost: take("sms.estimatedCost", e.sms.estimatedCost),
      currency: "CNY",
    },
    samples: e.samples,
  };
  return { preview, ranges };
}

/** When the first deferred send goes out: the earliest due time among the samples that wait. */
export function firstDue(p: Preview): string | undefined {
  return p.samples
    .map((s) => s.dueAt)
    .filter((d): d is string => Boolean(d))
    .sort()[0];
}

/**
 * What a launch at this instant would do, as the marketer and the approver read it: who is reached
 * now, who later (quiet hours, waves) and when, who is held out or excluded and why, per tier; the
 * SMS cost; rendered samples per variant. Counts are heads, never under a percentage's heading.
 */
export function PreviewSummary({
  t,
  preview,
  samplesPerVariant = 1,
  ranges,
}: {
  t: T;
  preview: Preview;
  samplesPerVariant?: number;
  /** An estimate's intervals: a count with one is shown as ≈ n (low–high). */
  ranges?: Ranges;
}) {
  const due = firstDue(preview);
  const n = (path: string, value: number) => {
    const r = ranges?.[path];
    return r && r.low !== r.high ? `≈${fmt(value)} (${fmt(r.low)}–${fmt(r.high)})` : fmt(value);
  };
  const cost = ranges?.["sms.estimatedCost"];
  const variants = Object.entries(preview.byVariant ?? {});
  const reasons = Object.entries(preview.byTier).flatMap(([tier, r]) =>
    Object.entries(r.excludedBy ?? {}).map(([reason, count]) => [
      t.term(tier),
      t.term(reason),
      n(`tier.${tier}.excludedBy.${reason}`, count),
    ]),
  );
  return (
    <>
      <p class="big" data-testid="preview-audience">
        {t("audience")} {n("audience", preview.audience)} · {t("eligible")} {n("eligible", preview.eligible)}{" "}
        · {t("deferredCount")} {n("deferred", preview.deferred)} · {t("holdoutCount")}{" "}
        {n("holdout", preview.holdout)}
      </p>
      {preview.deferred > 0 && (
        <p class="notice" data-testid="preview-deferred">
          {t("deferredNotice")
            .replace("{n}", n("deferred", preview.deferred))
            .replace("{at}", due ? t.date(due) : "—")}
        </p>
      )}
      <Table
        caption={t("tiers")}
        head={[t("tier"), t("audience"), t("eligible"), t("deferredCount"), t("holdoutCount"), t("excluded")]}
        rows={Object.entries(preview.byTier).map(([tier, r]) => [
          t.term(tier),
          n(`tier.${tier}.audience`, r.audience),
          n(`tier.${tier}.eligible`, r.eligible),
          n(`tier.${tier}.deferred`, r.deferred),
          n(`tier.${tier}.holdout`, r.holdout),
          n(`tier.${tier}.excluded`, r.excluded),
        ])}
      />
      {reasons.length > 0 ? (
        <Table caption={t("reasons")} head={[t("tier"), t("reason"), t("count")]} rows={reasons} />
      ) : (
        <Table
          caption={t("reasons")}
          head={[t("reason"), t("count")]}
          rows={Object.entries(preview.excluded).map(([reason, count]) => [
            t.term(reason),
            n(`excluded.${reason}`, count),
          ])}
        />
      )}
      <p data-testid="preview-cost">
        {t("smsCost")} ¥{preview.sms.estimatedCost.toFixed(2)}
        {cost && cost.low !== cost.high ? ` (¥${cost.low.toFixed(2)}–${cost.high.toFixed(2)})` : ""} ·{" "}
        {t("smsMessages")} {n("sms.messages", preview.sms.messages)} · {t("parts")}{" "}
        {n("sms.parts", preview.sms.parts)}
      </p>
      <h3>{t("samples")}</h3>
      {(variants.length > 0
        ? variants
        : [...new Set(preview.samples.map((s) => s.variant))].map((v) => [v, undefined] as const)
      ).map(([id, v]) => (
        <section key={id} class="variant-samples" aria-label={`${t("variant")} ${id}`}>
          <h4>
            {t("variant")} {id}
            {v
              ? ` · ${t.term(v.channel)} · ${t("eligible")} ${n(`variant.${id}.eligible`, v.eligible)} · ${t("deferredCount")} ${n(`variant.${id}.deferred`, v.deferred)}`
              : ""}
          </h4>
          {preview.samples
            .filter((s) => s.variant === id)
            .slice(0, samplesPerVariant)
            .map((s, i) => (
              <figure key={i} class="sample" data-variant={id}>
                <figcaption>
                  {t.term(s.channel)} · {t.term(s.tier)} · {s.message.to}
                  {s.message.parts ? ` · ${t("parts")} ${s.message.parts}` : ""}
                  {s.dueAt ? ` · ${t("sendsAt")} ${t.date(s.dueAt)}` : ""}
                </figcaption>
                <p>
                  {s.message.subject ? `${s.message.subject} — ` : ""}
                  {s.message.text ?? s.message.html?.replace(/<[^>]+>/g, " ")}
                </p>
              </figure>
            ))}
        </section>
      ))}
    </>
  );
}
