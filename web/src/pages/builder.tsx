import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.ts";
import type { PageProps } from "../main.tsx";
import { ErrorBox, fmt } from "./common.tsx";
import { type DryRun, DryRunPanel, useDryRun } from "./dryrun.tsx";
import { type Estimate, fromEstimate, PreviewSummary } from "./preview.tsx";

const PLAYBOOKS = ["dormant-reactivation", "salon-invite", "referral-drive", "key-maintenance"];
const TIERS = ["mass", "potential", "quality", "key", "private"];
const CHANNELS = ["sms", "email", "rm-task"];

interface VariantForm {
  id: string;
  tiers: string;
  channel: string;
  template: string;
  subject: string;
  url: string;
  /** A/B split weight: required on each variant sharing a tier with another (a whole number ≥ 1). */
  weight: string;
}

interface Form {
  campaignId: string;
  name: string;
  playbook: string;
  tiers: string[];
  dormantDays: string;
  holdoutPercent: string;
  variants: VariantForm[];
  extra: string;
}

const EMPTY: Form = {
  campaignId: "",
  name: "",
  playbook: "dormant-reactivation",
  tiers: ["potential"],
  dormantDays: "180",
  holdoutPercent: "5",
  variants: [
    {
      id: "A",
      tiers: "potential",
      channel: "sms",
      template: "{{name|客户}}您好，好久不见，回来看看专属礼遇。",
      subject: "",
      url: "",
      weight: "",
    },
  ],
  extra: "",
};

function toCampaign(f: Form): Record<string, unknown> {
  const extra = f.extra.trim() ? (JSON.parse(f.extra) as Record<string, unknown>) : {};
  return {
    campaignId: f.campaignId,
    ...(f.name ? { name: f.name } : {}),
    playbook: f.playbook,
    segment: {
      scheme: "retail",
      tiers: f.tiers,
      ...(f.dormantDays ? { dormantDays: Number(f.dormantDays) } : {}),
    },
    variants: f.variants.map((v) => ({
      id: v.id,
      tiers: v.tiers.split(/[\s,]+/).filter(Boolean),
      channel: v.channel,
      template: v.template,
      ...(v.subject ? { subject: v.subject } : {}),
      ...(v.url ? { url: v.url } : {}),
      ...(v.weight.trim() ? { weight: Number(v.weight) } : {}),
    })),
    ...(f.holdoutPercent !== "" ? { holdoutPercent: Number(f.holdoutPercent) } : {}),
    ...extra,
  };
}

function fromCampaign(c: Record<string, unknown>): Form {
  const {
    campaignId,
    name,
    playbook,
    segment,
    variants,
    holdoutPercent,
    attributionDays: _a,
    ...rest
  } = c as {
    campaignId: string;
    name?: string;
    playbook: string;
    segment: { tiers: string[]; dormantDays?: number };
    variants: {
      id: string;
      tiers: string[];
      channel: string;
      template: string;
      subject?: string;
      url?: string;
      weight?: number;
    }[];
    holdoutPercent?: number;
    attributionDays?: number;
  };
  return {
    campaignId,
    name: name ?? "",
    playbook,
    tiers: segment.tiers,
    dormantDays: segment.dormantDays ? String(segment.dormantDays) : "",
    holdoutPercent: holdoutPercent === undefined ? "" : String(holdoutPercent),
    variants: variants.map((v) => ({
      ...v,
      tiers: v.tiers.join(", "),
      subject: v.subject ?? "",
      url: v.url ?? "",
      weight: v.weight === undefined ? "" : String(v.weight),
    })),
    extra: Object.keys(rest).length ? JSON.stringify(rest, null, 2) : "",
  };
}

export function Builder({ t, go, campaignId }: PageProps & { campaignId?: string }) {
  const [form, setForm] = useState<Form>(EMPTY);
  const [estimate, setEstimate] = useState<Estimate>();
  const [started, setStarted] = useState<DryRun>();
  const dryRun = useDryRun(started);
  const [problems, setProblems] = useState<unknown>();
  const [saveError, setSaveError] = useState<unknown>();
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (campaignId)
      api<{ campaign: Record<string, unknown> }>(
        "GET",
        `/api/campaigns/${encodeURIComponent(campaignId)}`,
      ).then((r) => setForm(fromCampaign(r.campaign)), setSaveError);
  }, [campaignId]);
  // Estimate as you edit: a bounded random sample of the segment, debounced (issue 21). The exact
  // count is a dry-run job started on demand; an edit sets its result aside (it was of another body).
  useEffect(() => {
    setStarted(undefined);
    clearTimeout(timer.current);
    timer.current = window.setTimeout(async () => {
      try {
        setEstimate(await api<Estimate>("POST", "/api/estimate", toCampaign(form)));
        setProblems(undefined);
      } catch (err) {
        setProblems(err);
      }
    }, 400);
    return () => clearTimeout(timer.current);
  }, [form]);
  const exactCount = async () => {
    try {
      setStarted(await api<DryRun>("POST", "/api/dry-runs", toCampaign(form)));
      setProblems(undefined);
    } catch (err) {
      setProblems(err);
    }
  };
  const shown = estimate ? fromEstimate(estimate) : undefined;

  const set = (patch: Partial<Form>) => setForm({ ...form, ...patch });
  const setVariant = (i: number, patch: Partial<VariantForm>) =>
    set({ variants: form.variants.map((v, j) => (i === j ? { ...v, ...patch } : v)) });
  const save = async (e: Event) => {
    e.preventDefault();
    setSaveError(undefined);
    try {
      const body = toCampaign(form);
      if (campaignId) await api("PUT", `/api/campaigns/${encodeURIComponent(campaignId)}`, body);
      else await api("POST", "/api/campaigns", body);
      go(`#/campaign/${encodeURIComponent(form.campaignId)}`);
    } catch (err) {
      setSaveError(err);
    }
  };

  return (
    <section class="builder">
      <form onSubmit={save} aria-labelledby="builder-title">
        <h1 id="builder-title">{campaignId ? `${t("save")}: ${campaignId}` : t("newCampaign")}</h1>
        <div class="grid">
          <label for="cid">{t("campaignId")}</label>
          <input
            id="cid"
            value={form.campaignId}
            disabled={Boolean(campaignId)}
            onInput={(e) => set({ campaignId: e.currentTarget.value })}
            required
          />
          <label for="cname">{t("name")}</label>
          <input id="cname" value={form.name} onInput={(e) => set({ name: e.currentTarget.value })} />
          <label for="pb">{t("playbook")}</label>
          <select id="pb" value={form.playbook} onChange={(e) => set({ playbook: e.currentTarget.value })}>
            {PLAYBOOKS.map((p) => (
              <option key={p} value={p}>
                {t.term(p)}
              </option>
            ))}
          </select>
          <span id="tiers-label">{t("tiers")}</span>
          <fieldset aria-labelledby="tiers-label" class="checks">
            {TIERS.map((tier) => (
              <label key={tier}>
                <input
                  type="checkbox"
                  checked={form.tiers.includes(tier)}
                  onChange={(e) =>
                    set({
                      tiers: e.currentTarget.checked
                        ? [...form.tiers, tier]
                        : form.tiers.filter((x) => x !== tier),
                    })
                  }
                />
                {t.term(tier)}
              </label>
            ))}
          </fieldset>
          <label for="dd">dormantDays</label>
          <input
            id="dd"
            type="number"
            min="1"
            value={form.dormantDays}
            onInput={(e) => set({ dormantDays: e.currentTarget.value })}
          />
          <label for="ho">{t("holdout")}</label>
          <input
            id="ho"
            type="number"
            min="0"
            max="50"
            value={form.holdoutPercent}
            onInput={(e) => set({ holdoutPercent: e.currentTarget.value })}
          />
        </div>
        {form.variants.map((v, i) => (
          <fieldset key={i} class="variant grid">
            <legend>
              {t("variant")} {v.id}
            </legend>
            <label for={`vid${i}`}>id</label>
            <input
              id={`vid${i}`}
              value={v.id}
              onInput={(e) => setVariant(i, { id: e.currentTarget.value })}
            />
            <label for={`vt${i}`}>{t("tiers")}</label>
            <input
              id={`vt${i}`}
              value={v.tiers}
              onInput={(e) => setVariant(i, { tiers: e.currentTarget.value })}
            />
            <label for={`vc${i}`}>{t("channel")}</label>
            <select
              id={`vc${i}`}
              value={v.channel}
              onChange={(e) => setVariant(i, { channel: e.currentTarget.value })}
            >
              {CHANNELS.map((c) => (
                <option key={c} value={c}>
                  {t.term(c)}
                </option>
              ))}
            </select>
            {v.channel === "email" && (
              <>
                <label for={`vs${i}`}>{t("subject")}</label>
                <input
                  id={`vs${i}`}
                  value={v.subject}
                  onInput={(e) => setVariant(i, { subject: e.currentTarget.value })}
                />
              </>
            )}
            <label for={`vtp${i}`}>{t("template")}</label>
            <textarea
              id={`vtp${i}`}
              rows={3}
              value={v.template}
              onInput={(e) => setVariant(i, { template: e.currentTarget.value })}
            />
            <label for={`vu${i}`}>{t("landing")}</label>
            <input
              id={`vu${i}`}
              value={v.url}
              placeholder="https://"
              onInput={(e) => setVariant(i, { url: e.currentTarget.value })}
            />
            <label for={`vw${i}`}>{t("weight")}</label>
            <input
              id={`vw${i}`}
              type="number"
              min="1"
              step="1"
              value={v.weight}
              onInput={(e) => setVariant(i, { weight: e.currentTarget.value })}
            />
          </fieldset>
        ))}
        <div class="actions">
          <button
            type="button"
            class="secondary"
            onClick={() =>
              set({
                variants: [
                  ...form.variants,
                  {
                    id: String.fromCharCode(65 + form.variants.length),
                    tiers: "",
                    channel: "sms",
                    template: "",
                    subject: "",
                    url: "",
                    weight: "",
                  },
                ],
              })
            }
          >
            + {t("addVariant")}
          </button>
        </div>
        <details>
          <summary>JSON (event, referral, attributionDays…)</summary>
          <label for="extra">JSON</label>
          <textarea
            id="extra"
            rows={5}
            value={form.extra}
            onInput={(e) => set({ extra: e.currentTarget.value })}
          />
        </details>
        <div class="actions">
          <button type="submit">{t("save")}</button>
        </div>
        <ErrorBox error={saveError} />
      </form>
      <aside aria-live="polite" aria-labelledby="preview-title" class="preview">
        <h2 id="preview-title">{t("preview")}</h2>
        <ErrorBox error={problems} />
        {!problems && dryRun && <DryRunPanel t={t} job={dryRun} />}
        {estimate && shown && !problems && dryRun?.status !== "done" && (
          <>
            <p class="notice" data-testid="estimate-note">
              {estimate.method === "exact"
                ? t("estimateExact")
                : t("estimateNote")
                    .replace("{n}", fmt(estimate.sample.customersRead))
                    .replace("{d}", fmt(estimate.sample.decided))}
            </p>
            {estimate.method === "sample" && !dryRun && (
              <button type="button" onClick={exactCount} data-testid="exact-count">
                {t("exactCount")}
              </button>
            )}
            <PreviewSummary t={t} preview={shown.preview} ranges={shown.ranges} samplesPerVariant={2} />
          </>
        )}
      </aside>
    </section>
  );
}
