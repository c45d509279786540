import type { PreviewResult } from "../../../functions/campaign/preview-result.ts";
import type { T } from "../i18n.ts";
import { fmt, Table } from "./common.tsx";

/**
 * The dry run the API answers: the API's own type, from a types-only module with no imports that
 * both tsconfigs compile (a type import is erased from the bundle).
 */
export type Preview = PreviewResult;

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
}: {
  t: T;
  preview: Preview;
  samplesPerVariant?: number;
}) {
  const due = firstDue(preview);
  const variants = Object.entries(preview.byVariant ?? {});
  const reasons = Object.entries(preview.byTier).flatMap(([tier, r]) =>
    Object.entries(r.excludedBy ?? {}).map(([reason, n]) => [t.term(tier), t.term(reason), fmt(n)]),
  );
  return (
    <>
      <p class="big" data-testid="preview-audience">
        {t("audience")} {fmt(preview.audience)} · {t("eligible")} {fmt(preview.eligible)} ·{" "}
        {t("deferredCount")} {fmt(preview.deferred)} · {t("holdoutCount")} {fmt(preview.holdout)}
      </p>
      {preview.deferred > 0 && (
        <p class="notice" data-testid="preview-deferred">
          {t("deferredNotice")
            .replace("{n}", fmt(preview.deferred))
            .replace("{at}", due ? t.date(due) : "—")}
        </p>
      )}
      <Table
        caption={t("tiers")}
        head={[t("tier"), t("audience"), t("eligible"), t("deferredCount"), t("holdoutCount"), t("excluded")]}
        rows={Object.entries(preview.byTier).map(([tier, r]) => [
          t.term(tier),
          fmt(r.audience),
          fmt(r.eligible),
          fmt(r.deferred),
          fmt(r.holdout),
          fmt(r.excluded),
        ])}
      />
      {reasons.length > 0 ? (
        <Table caption={t("reasons")} head={[t("tier"), t("reason"), t("count")]} rows={reasons} />
      ) : (
        <Table
          caption={t("reasons")}
          head={[t("reason"), t("count")]}
          rows={Object.entries(preview.excluded).map(([reason, n]) => [t.term(reason), fmt(n)])}
        />
      )}
      <p data-testid="preview-cost">
        {t("smsCost")} ¥{preview.sms.estimatedCost.toFixed(2)} · {t("smsMessages")}{" "}
        {fmt(preview.sms.messages)} · {t("parts")} {fmt(preview.sms.parts)}
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
              ? ` · ${t.term(v.channel)} · ${t("eligible")} ${fmt(v.eligible)} · ${t("deferredCount")} ${fmt(v.deferred)}`
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
