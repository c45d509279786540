import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { CHANNELS, LIFECYCLE, PLAYBOOKS, RISK_LEVELS } from "../../../functions/campaign/vocabulary.ts";
import { api, RequestError } from "../api.ts";
import type { T } from "../i18n.ts";
import type { PageProps } from "../main.tsx";
import { ErrorBox, fmt } from "./common.tsx";
import { type DryRun, DryRunPanel, useDryRun } from "./dryrun.tsx";
import { type Estimate, fromEstimate, PreviewSummary } from "./preview.tsx";

/** The retail scheme's tiers, until GET /api/me has said which schemes the bank has. */
const RETAIL = ["mass", "potential", "quality", "key", "private"];
const GOALS = ["", "deposit", "tier", "aum-growth"] as const;
type GoalKind = (typeof GOALS)[number];

/** The growth filters of a segment (CONTRACT.md), as the form holds them: text, "" for unset. */
interface Filters {
  tagsAll: string;
  tagsAny: string;
  tagsNone: string;
  productsAll: string;
  productsAny: string;
  productsNone: string;
  ageMin: string;
  ageMax: string;
  nearNextTier: string;
  aumMonths: string;
  aumMin: string;
  aumMax: string;
  riskMatch: string;
  cdMaturingWithinDays: string;
  branches: string;
  rmIds: string;
  openedWithinHours: string;
  transactedWithinHours: string;
}

const NO_FILTERS: Filters = {
  tagsAll: "",
  tagsAny: "",
  tagsNone: "",
  productsAll: "",
  productsAny: "",
  productsNone: "",
  ageMin: "",
  ageMax: "",
  nearNextTier: "",
  aumMonths: "",
  aumMin: "",
  aumMax: "",
  riskMatch: "",
  cdMaturingWithinDays: "",
  branches: "",
  rmIds: "",
  openedWithinHours: "",
  transactedWithinHours: "",
};

interface VariantForm {
  id: string;
  tiers: string[];
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
  scheme: string;
  tiers: string[];
  dormantDays: string;
  filters: Filters;
  /** The lifecycle stages the segment keeps (none checked: every stage). */
  lifecycle: string[];
  /** Care trigger: only the customers whose birthday is today. */
  birthdayToday: boolean;
  /** Segment fields the form has no field for (a later contract's): kept as they were. */
  segmentRest: Record<string, unknown>;
  goalKind: GoalKind;
  /** deposit: the amount; aum-growth: the percent. */
  goalValue: string;
  goalTier: string;
  holdoutPercent: string;
  variants: VariantForm[];
  extra: string;
}

const EMPTY: Form = {
  campaignId: "",
  name: "",
  playbook: "dormant-reactivation",
  scheme: "retail",
  tiers: ["potential"],
  dormantDays: "180",
  filters: NO_FILTERS,
  lifecycle: [],
  birthdayToday: false,
  segmentRest: {},
  goalKind: "",
  goalValue: "",
  goalTier: "",
  holdoutPercent: "5",
  variants: [
    {
      id: "A",
      tiers: ["potential"],
      channel: "sms",
      template: "{{name|客户}}您好，好久不见，回来看看专属礼遇。",
      subject: "",
      url: "",
      weight: "",
    },
  ],
  extra: "",
};

const list = (s: string) => s.split(/[\s,，]+/).filter(Boolean);
/**
 * A number field: left out when empty; a number goes as a number, anything else as the text typed,
 * for the API to judge (and say so under the field).
 */
const num = (s: string): number | string | undefined => {
  if (s.trim() === "") return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
};
/** A list field: left out when empty. */
const names = (s: string) => (list(s).length ? list(s) : undefined);
const defined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

function setFilter(all: string, any: string, none: string) {
  const f = defined({
    all: list(all).length ? list(all) : undefined,
    any: list(any).length ? list(any) : undefined,
    none: list(none).length ? list(none) : undefined,
  });
  return Object.keys(f).length ? f : undefined;
}

/** The segment's growth filters from the form; an empty field sets nothing. */
function filtersOf(f: Filters): Record<string, unknown> {
  const age = defined({ min: num(f.ageMin), max: num(f.ageMax) });
  const aum = defined({ months: num(f.aumMonths), minPercent: num(f.aumMin), maxPercent: num(f.aumMax) });
  return defined({
    tags: setFilter(f.tagsAll, f.tagsAny, f.tagsNone),
    products: setFilter(f.productsAll, f.productsAny, f.productsNone),
    age: Object.keys(age).length ? age : undefined,
    nearNextTier: f.nearNextTier.trim() ? { withinPercent: num(f.nearNextTier) } : undefined,
    aumChange: Object.keys(aum).length ? aum : undefined,
    riskMatch: f.riskMatch ? { productRisk: f.riskMatch } : undefined,
    cdMaturingWithinDays: num(f.cdMaturingWithinDays),
    branches: names(f.branches),
    rmIds: names(f.rmIds),
    openedWithinHours: num(f.openedWithinHours),
    transactedWithinHours: num(f.transactedWithinHours),
  });
}

function goalOf(f: Form): Record<string, unknown> | undefined {
  if (f.goalKind === "deposit") return { kind: "deposit", atLeast: num(f.goalValue) };
  if (f.goalKind === "aum-growth") return { kind: "aum-growth", percent: num(f.goalValue) };
  if (f.goalKind === "tier") return { kind: "tier", tier: f.goalTier };
  return undefined;
}

function toCampaign(f: Form): Record<string, unknown> {
  const extra = f.extra.trim() ? (JSON.parse(f.extra) as Record<string, unknown>) : {};
  const goal = goalOf(f);
  return {
    campaignId: f.campaignId,
    ...(f.name ? { name: f.name } : {}),
    playbook: f.playbook,
    segment: {
      ...f.segmentRest,
      scheme: f.scheme,
      tiers: f.tiers,
      ...(f.dormantDays ? { dormantDays: num(f.dormantDays) } : {}),
      ...(f.lifecycle.length ? { lifecycle: f.lifecycle } : {}),
      ...(f.birthdayToday ? { birthdayToday: true } : {}),
      ...filtersOf(f.filters),
    },
    ...(goal ? { goal } : {}),
    variants: f.variants.map((v) => ({
      id: v.id,
      tiers: v.tiers,
      channel: v.channel,
      template: v.template,
      ...(v.subject ? { subject: v.subject } : {}),
      ...(v.url ? { url: v.url } : {}),
      ...(v.weight.trim() ? { weight: num(v.weight) } : {}),
    })),
    ...(f.holdoutPercent.trim() !== "" ? { holdoutPercent: num(f.holdoutPercent) } : {}),
    ...extra,
  };
}

interface SegmentIn {
  scheme?: string;
  tiers: string[];
  dormantDays?: number;
  tags?: { all?: string[]; any?: string[]; none?: string[] };
  products?: { all?: string[]; any?: string[]; none?: string[] };
  age?: { min?: number; max?: number };
  nearNextTier?: { withinPercent: number };
  aumChange?: { months: number; minPercent?: number; maxPercent?: number };
  riskMatch?: { productRisk: string };
  cdMaturingWithinDays?: number;
  lifecycle?: string[];
  branches?: string[];
  rmIds?: string[];
  openedWithinHours?: number;
  transactedWithinHours?: number;
  birthdayToday?: boolean;
  [rest: string]: unknown;
}

function fromCampaign(c: Record<string, unknown>): Form {
  const {
    campaignId,
    name,
    playbook,
    segment,
    variants,
    holdoutPercent,
    goal,
    attributionDays: _a,
    ...rest
  } = c as {
    campaignId: string;
    name?: string;
    playbook: string;
    segment: SegmentIn;
    goal?: { kind: GoalKind; atLeast?: number; tier?: string; percent?: number };
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
  const {
    scheme,
    tiers,
    dormantDays,
    tags,
    products,
    age,
    nearNextTier,
    aumChange,
    riskMatch,
    cdMaturingWithinDays,
    lifecycle,
    branches,
    rmIds,
    openedWithinHours,
    transactedWithinHours,
    birthdayToday,
    ...segmentRest
  } = segment;
  const str = (n: number | undefined) => (n === undefined ? "" : String(n));
  const join = (names: string[] | undefined) => (names ?? []).join(", ");
  return {
    campaignId,
    name: name ?? "",
    playbook,
    scheme: scheme ?? "retail",
    tiers,
    dormantDays: dormantDays ? String(dormantDays) : "",
    filters: {
      tagsAll: join(tags?.all),
      tagsAny: join(tags?.any),
      tagsNone: join(tags?.none),
      productsAll: join(products?.all),
      productsAny: join(products?.any),
      productsNone: join(products?.none),
      ageMin: str(age?.min),
      ageMax: str(age?.max),
      nearNextTier: str(nearNextTier?.withinPercent),
      aumMonths: str(aumChange?.months),
      aumMin: str(aumChange?.minPercent),
      aumMax: str(aumChange?.maxPercent),
      riskMatch: riskMatch?.productRisk ?? "",
      cdMaturingWithinDays: str(cdMaturingWithinDays),
      branches: join(branches),
      rmIds: join(rmIds),
      openedWithinHours: str(openedWithinHours),
      transactedWithinHours: str(transactedWithinHours),
    },
    lifecycle: lifecycle ?? [],
    birthdayToday: birthdayToday === true,
    segmentRest,
    goalKind: goal?.kind ?? "",
    goalValue: str(goal?.kind === "deposit" ? goal.atLeast : goal?.percent),
    goalTier: goal?.tier ?? "",
    holdoutPercent: holdoutPercent === undefined ? "" : String(holdoutPercent),
    variants: variants.map((v) => ({
      ...v,
      tiers: v.tiers,
      subject: v.subject ?? "",
      url: v.url ?? "",
      weight: v.weight === undefined ? "" : String(v.weight),
    })),
    extra: Object.keys(rest).length ? JSON.stringify(rest, null, 2) : "",
  };
}

/**
 * The API's problems ("segment.age.min: …") that belong to one field: its path or any path under it.
 * The form validates nothing itself: every check is the API's, shown beside the field it is about.
 */
export function problemsAt(error: unknown, path: string, exact = false): string[] {
  if (!(error instanceof RequestError)) return [];
  return (error.body.problems ?? []).flatMap((p) => {
    const at = p.indexOf(": ");
    const where = at < 0 ? "" : p.slice(0, at);
    const message = p.slice(at + 2);
    if (where === path) return [message];
    // Under the field: the rest of the path stays ("withinPercent: more than 0").
    if (!exact && where.startsWith(`${path}.`)) return [`${where.slice(path.length + 1)}: ${message}`];
    return [];
  });
}

/** A field's problems, under it; the field points at them (aria-describedby) and is marked invalid. */
function FieldError({ id, messages }: { id: string; messages: string[] }) {
  if (messages.length === 0) return null;
  return (
    <p class="field-error" id={`${id}-error`} data-testid={`error-${id}`}>
      {messages.join("; ")}
    </p>
  );
}

/** The props a field takes from its problems. */
const invalid = (id: string, messages: string[]) =>
  messages.length ? { "aria-invalid": true as const, "aria-describedby": `${id}-error` } : {};

function Field({
  id,
  label,
  messages,
  hint,
  children,
}: {
  id: string;
  label: string;
  messages: string[];
  hint?: string;
  children: ComponentChildren;
}) {
  return (
    <>
      <label for={id}>
        {label}
        {hint && <span class="hint"> {hint}</span>}
      </label>
      {children}
      <FieldError id={id} messages={messages} />
    </>
  );
}

/**
 * Checkboxes for a set of names (tiers, lifecycle stages): a labelled group, each box a native
 * checkbox (Tab to it, Space to toggle); the API's problems with the set under it.
 */
function CheckGroup({
  id,
  label,
  labelledBy,
  options,
  checked,
  onChange,
  name,
  messages,
}: {
  id: string;
  label: string;
  /** More ids naming the group before its label (a variant's legend). */
  labelledBy?: string;
  options: readonly string[];
  checked: string[];
  onChange: (names: string[]) => void;
  name: (option: string) => string;
  messages: string[];
}) {
  // A name checked that the options lack (a stored campaign's, another scheme's) stays, to uncheck.
  const all = [...options, ...checked.filter((c) => !options.includes(c))];
  return (
    <>
      <span id={`${id}-label`}>{label}</span>
      <fieldset
        id={id}
        aria-labelledby={labelledBy ? `${labelledBy} ${id}-label` : `${id}-label`}
        class="checks"
        {...invalid(id, messages)}
      >
        {all.map((option) => (
          <label key={option}>
            <input
              type="checkbox"
              checked={checked.includes(option)}
              onChange={(e) =>
                onChange(
                  e.currentTarget.checked
                    ? all.filter((o) => o === option || checked.includes(o))
                    : checked.filter((o) => o !== option),
                )
              }
            />
            {name(option)}
          </label>
        ))}
      </fieldset>
      <FieldError id={id} messages={messages} />
    </>
  );
}

/** The segment's growth filters and the campaign's goal (issue 19). */
function GrowthFields({
  t,
  form,
  set,
  error,
  schemeTiers,
  largeCdMin,
}: {
  t: T;
  form: Form;
  set: (patch: Partial<Form>) => void;
  error: unknown;
  schemeTiers: string[];
  largeCdMin?: number;
}) {
  const f = form.filters;
  const setF = (patch: Partial<Filters>) => set({ filters: { ...f, ...patch } });
  const text = (id: string, key: keyof Filters, label: string, path: string, hint?: string) => {
    const messages = problemsAt(error, path);
    return (
      <Field id={id} label={label} messages={messages} hint={hint}>
        <input
          id={id}
          value={f[key]}
          onInput={(e) => setF({ [key]: e.currentTarget.value })}
          {...invalid(id, messages)}
        />
      </Field>
    );
  };
  const number = (id: string, key: keyof Filters, label: string, path: string, hint?: string) => {
    const messages = problemsAt(error, path);
    return (
      <Field id={id} label={label} messages={messages} hint={hint}>
        <input
          id={id}
          inputMode="decimal"
          value={f[key]}
          onInput={(e) => setF({ [key]: e.currentTarget.value })}
          {...invalid(id, messages)}
        />
      </Field>
    );
  };
  const riskMessages = problemsAt(error, "segment.riskMatch");
  const birthdayMessages = problemsAt(error, "segment.birthdayToday");
  // The goal's own problems (a wrong kind), and those of its amount or tier, each under its field.
  const goalMessages = [...problemsAt(error, "goal", true), ...problemsAt(error, "goal.kind")];
  const goalValueMessages = [...problemsAt(error, "goal.atLeast"), ...problemsAt(error, "goal.percent")];
  const goalTierMessages = problemsAt(error, "goal.tier");
  return (
    <>
      <fieldset class="grid filters">
        <legend>{t("segmentFilters")}</legend>
        {text("f-tags-all", "tagsAll", t("tagsAll"), "segment.tags.all", t("listHint"))}
        {text("f-tags-any", "tagsAny", t("tagsAny"), "segment.tags.any")}
        {text("f-tags-none", "tagsNone", t("tagsNone"), "segment.tags.none")}
        <FieldError id="f-tags" messages={problemsAt(error, "segment.tags", true)} />
        {text("f-products-all", "productsAll", t("productsAll"), "segment.products.all", t("listHint"))}
        {text("f-products-any", "productsAny", t("productsAny"), "segment.products.any")}
        {text("f-products-none", "productsNone", t("productsNone"), "segment.products.none")}
        <FieldError id="f-products" messages={problemsAt(error, "segment.products", true)} />
        {number("f-age-min", "ageMin", t("ageMin"), "segment.age.min")}
        {number("f-age-max", "ageMax", t("ageMax"), "segment.age.max")}
        <FieldError id="f-age" messages={problemsAt(error, "segment.age", true)} />
        {number("f-near", "nearNextTier", t("nearNextTier"), "segment.nearNextTier")}
        {number("f-aum-months", "aumMonths", t("aumMonths"), "segment.aumChange.months")}
        {number("f-aum-min", "aumMin", t("aumMin"), "segment.aumChange.minPercent")}
        {number("f-aum-max", "aumMax", t("aumMax"), "segment.aumChange.maxPercent")}
        <FieldError id="f-aum" messages={problemsAt(error, "segment.aumChange", true)} />
        <Field id="f-risk" label={t("riskMatch")} messages={riskMessages}>
          <select
            id="f-risk"
            value={f.riskMatch}
            onChange={(e) => setF({ riskMatch: e.currentTarget.value })}
            {...invalid("f-risk", riskMessages)}
          >
            <option value="">—</option>
            {RISK_LEVELS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </Field>
        {number(
          "f-cd",
          "cdMaturingWithinDays",
          t("cdMaturingWithinDays"),
          "segment.cdMaturingWithinDays",
          largeCdMin === undefined
            ? undefined
            : t("largeCdHint").replace("{n}", largeCdMin.toLocaleString("en-US")),
        )}
        <CheckGroup
          id="f-lifecycle"
          label={t("lifecycle")}
          options={LIFECYCLE}
          checked={form.lifecycle}
          onChange={(lifecycle) => set({ lifecycle })}
          name={(stage) => t.term(`lifecycle:${stage}`)}
          messages={problemsAt(error, "segment.lifecycle")}
        />
        {text("f-branches", "branches", t("branchesFilter"), "segment.branches", t("listHint"))}
        {text("f-rms", "rmIds", t("rmIdsFilter"), "segment.rmIds", t("listHint"))}
        {number("f-opened", "openedWithinHours", t("openedWithinHours"), "segment.openedWithinHours")}
        {number(
          "f-transacted",
          "transactedWithinHours",
          t("transactedWithinHours"),
          "segment.transactedWithinHours",
        )}
        <Field id="f-birthday" label={t("birthdayToday")} messages={birthdayMessages}>
          <input
            id="f-birthday"
            type="checkbox"
            checked={form.birthdayToday}
            onChange={(e) => set({ birthdayToday: e.currentTarget.checked })}
            {...invalid("f-birthday", birthdayMessages)}
          />
        </Field>
      </fieldset>
      <fieldset class="grid goal">
        <legend>{t("goal")}</legend>
        <Field id="g-kind" label={t("goalKind")} messages={goalMessages}>
          <select
            id="g-kind"
            value={form.goalKind}
            onChange={(e) => set({ goalKind: e.currentTarget.value as GoalKind })}
          >
            {GOALS.map((g) => (
              <option key={g} value={g}>
                {t.term(g ? `goal:${g}` : "goal:none")}
              </option>
            ))}
          </select>
        </Field>
        {(form.goalKind === "deposit" || form.goalKind === "aum-growth") && (
          <Field
            id="g-value"
            label={form.goalKind === "deposit" ? t("goalAmount") : t("goalPercent")}
            messages={goalValueMessages}
          >
            <input
              id="g-value"
              inputMode="decimal"
              value={form.goalValue}
              onInput={(e) => set({ goalValue: e.currentTarget.value })}
              {...invalid("g-value", goalValueMessages)}
            />
          </Field>
        )}
        {form.goalKind === "tier" && (
          <Field id="g-tier" label={t("goalTier")} messages={goalTierMessages}>
            <select
              id="g-tier"
              value={form.goalTier}
              onChange={(e) => set({ goalTier: e.currentTarget.value })}
              {...invalid("g-tier", goalTierMessages)}
            >
              <option value="">—</option>
              {schemeTiers.map((tier) => (
                <option key={tier} value={tier}>
                  {t.term(tier)}
                </option>
              ))}
            </select>
          </Field>
        )}
      </fieldset>
    </>
  );
}

export function Builder({ t, me, go, campaignId }: PageProps & { campaignId?: string }) {
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
  const schemes = me.tierSchemes ?? { retail: RETAIL };
  const schemeTiers = schemes[form.scheme] ?? [];
  // The problems the API gave for this form: the save's, else the live preview's.
  const error = saveError ?? problems;
  const at = (path: string) => problemsAt(error, path);
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
          <FieldError id="pb" messages={at("playbook")} />
          <label for="scheme">{t("scheme")}</label>
          <select
            id="scheme"
            value={form.scheme}
            onChange={(e) => set({ scheme: e.currentTarget.value, tiers: [] })}
            {...invalid("scheme", at("segment.scheme"))}
          >
            {Object.keys(schemes).map((name) => (
              <option key={name} value={name}>
                {t.term(name)}
              </option>
            ))}
          </select>
          <FieldError id="scheme" messages={at("segment.scheme")} />
          <span id="tiers-label">{t("tiers")}</span>
          <fieldset aria-labelledby="tiers-label" class="checks">
            {schemeTiers.map((tier) => (
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
          <FieldError id="tiers" messages={at("segment.tiers")} />
          <label for="dd">dormantDays</label>
          <input
            id="dd"
            inputMode="numeric"
            value={form.dormantDays}
            onInput={(e) => set({ dormantDays: e.currentTarget.value })}
          />
          <label for="ho">{t("holdout")}</label>
          <input
            id="ho"
            inputMode="decimal"
            value={form.holdoutPercent}
            onInput={(e) => set({ holdoutPercent: e.currentTarget.value })}
          />
          <FieldError id="ho" messages={at("holdoutPercent")} />
        </div>
        <GrowthFields
          t={t}
          form={form}
          set={set}
          error={error}
          schemeTiers={schemeTiers}
          largeCdMin={me.largeCdMin}
        />
        {form.variants.map((v, i) => (
          <fieldset key={i} class="variant grid">
            <legend id={`vlegend${i}`}>
              {t("variant")} {v.id}
            </legend>
            <label for={`vid${i}`}>id</label>
            <input
              id={`vid${i}`}
              value={v.id}
              onInput={(e) => setVariant(i, { id: e.currentTarget.value })}
            />
            <CheckGroup
              id={`vt${i}`}
              label={t("tiers")}
              labelledBy={`vlegend${i}`}
              options={schemeTiers}
              checked={v.tiers}
              onChange={(tiers) => setVariant(i, { tiers })}
              name={(tier) => t.term(tier)}
              messages={at(`variants.${i}.tiers`)}
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
            <FieldError id={`vtp${i}`} messages={at(`variants.${i}.template`)} />
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
              inputMode="numeric"
              value={v.weight}
              onInput={(e) => setVariant(i, { weight: e.currentTarget.value })}
            />
            <FieldError id={`vw${i}`} messages={at(`variants.${i}.weight`)} />
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
                    tiers: [],
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
