import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import type { PageProps } from "../main.tsx";
import { type CampaignSummary, ConfirmButton, ErrorBox, fmt, Status, Table } from "./common.tsx";

export function CampaignList({ t }: PageProps) {
  const [rows, setRows] = useState<CampaignSummary[]>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api<{ campaigns: CampaignSummary[] }>("GET", "/api/campaigns").then(
      (r) => setRows(r.campaigns),
      setError,
    );
  }, []);
  return (
    <section>
      <h1>{t("campaigns")}</h1>
      <ErrorBox error={error} />
      {rows && (
        <Table
          head={[
            t("campaignId"),
            t("name"),
            t("playbook"),
            t("tiers"),
            t("status"),
            t("version"),
            t("sentCount"),
          ]}
          rows={rows.map((c) => [
            <a href={`#/campaign/${encodeURIComponent(c.campaignId)}`}>{c.campaignId}</a>,
            c.name,
            t.term(c.playbook),
            c.tiers.map(t.term).join(", "),
            <Status status={c.status} t={t} />,
            c.version,
            <span data-testid={`sent-${c.campaignId}`}>{fmt(c.sent ?? "")}</span>,
          ])}
        />
      )}
    </section>
  );
}

interface AuditEntry {
  seq: number;
  action: string;
  actor: { userId: string; role: string };
  at: string;
  before?: { status?: string; version?: number };
  after?: { status?: string; version?: number };
  note?: string;
}

const ACTIONS: Record<string, { from: string[]; roles: string[] }> = {
  submit: { from: ["draft", "rejected"], roles: ["marketer", "admin"] },
  approve: { from: ["submitted"], roles: ["approver", "admin"] },
  reject: { from: ["submitted"], roles: ["approver", "admin"] },
  launch: { from: ["approved"], roles: ["marketer", "admin"] },
  pause: { from: ["launching", "launched"], roles: ["marketer", "admin"] },
  resume: { from: ["paused"], roles: ["marketer", "admin"] },
  cancel: {
    from: ["draft", "submitted", "approved", "rejected", "launching", "launched", "paused"],
    roles: ["marketer", "admin"],
  },
};

/** The actions that ask once more before they run (they start sends or cannot be undone). */
const CONFIRM: Record<string, "confirmApprove" | "confirmLaunch" | "confirmCancel" | "confirmReject"> = {
  approve: "confirmApprove",
  reject: "confirmReject",
  launch: "confirmLaunch",
  cancel: "confirmCancel",
};

export function CampaignDetail({ t, me, go, campaignId }: PageProps & { campaignId: string }) {
  const [c, setC] = useState<CampaignSummary>();
  const [audit, setAudit] = useState<{ entries: AuditEntry[]; intact: boolean }>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const base = `/api/campaigns/${encodeURIComponent(campaignId)}`;
  const load = () => {
    api<CampaignSummary>("GET", base).then(setC, setError);
    api<{ entries: AuditEntry[]; intact: boolean }>("GET", `${base}/audit`).then(setAudit, setError);
  };
  useEffect(load, [campaignId]);
  const act = async (action: string, note = "") => {
    setBusy(true);
    setError(undefined);
    try {
      await api("POST", `${base}/${action}`, note ? { note } : {});
      load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (!c) return <ErrorBox error={error} />;
  const key = (a: string) => a as Parameters<typeof t>[0];
  return (
    <section>
      <h1>
        {c.name} <Status status={c.status} t={t} />
      </h1>
      <p>
        {c.campaignId} · {t.term(c.playbook)} · {t("version")} {c.version}
        {c.approval ? ` · ${t("approve")}: ${c.approval.by} (v${c.approval.version})` : ""}
      </p>
      <div class="actions">
        {Object.entries(ACTIONS)
          .filter(([, a]) => a.from.includes(c.status) && a.roles.includes(me.role))
          .map(([action]) => {
            const question = CONFIRM[action];
            return question ? (
              <ConfirmButton
                key={action}
                t={t}
                label={t(key(action))}
                question={t(question)}
                danger={action === "cancel" || action === "reject"}
                disabled={busy}
                {...(action === "reject" ? { reasonLabel: t("rejectReason") } : {})}
                onConfirm={(note) => act(action, note)}
              />
            ) : (
              <button key={action} type="button" disabled={busy} onClick={() => act(action)}>
                {t(key(action))}
              </button>
            );
          })}
        {["draft", "submitted", "approved", "rejected"].includes(c.status) &&
          ["marketer", "admin"].includes(me.role) && (
            <button
              type="button"
              class="secondary"
              onClick={() => go(`#/edit/${encodeURIComponent(c.campaignId)}`)}
            >
              ✎ {t("save")}
            </button>
          )}
        <a class="button secondary" href={`#/funnel/${encodeURIComponent(c.campaignId)}`}>
          {t("funnel")}
        </a>
      </div>
      <ErrorBox error={error} />
      <Variants t={t} campaign={c.campaign} />
      {c.summary && (
        <p data-testid="launch-progress">
          {t("sentCount")} {fmt(c.sent ?? 0)}
          {c.summary.failed ? ` · ${t.term("failed")} ${fmt(c.summary.failed)}` : ""}
          {c.summary.holdout ? ` · ${t("holdoutCount")} ${fmt(c.summary.holdout)}` : ""}
        </p>
      )}
      {(c.summary?.deferred ?? 0) > 0 && (
        <p class="notice" data-testid="launch-deferred">
          {t("deferredAfterLaunch").replace("{n}", fmt(c.summary!.deferred))}
        </p>
      )}
      <h2>{t("audit")}</h2>
      {audit && (
        <>
          <p class={audit.intact ? "ok" : "error"}>
            {audit.intact ? `✓ ${t("intact")}` : `✗ ${t("broken")}`}
          </p>
          <Table
            head={["#", t("at"), t("actor"), t("action"), t("status"), t("version")]}
            rows={audit.entries.map((e) => [
              e.seq,
              t.date(e.at),
              `${e.actor.userId} (${e.actor.role})`,
              e.action + (e.note ? ` — ${e.note}` : ""),
              `${e.before?.status ?? "∅"} → ${e.after?.status ?? "∅"}`,
              e.after?.version ?? "",
            ])}
          />
        </>
      )}
    </section>
  );
}

interface VariantView {
  id: string;
  tiers: string[];
  channel: string;
  fallbackChannel?: string;
  template: string;
  fallbackTemplate?: string;
  smsTemplateCode?: string;
}

/**
 * What the approver approves, variant by variant: its tiers, channels and text, and for SMS the code
 * under which the template is registered with the domestic vendor (AWS China), which sends that copy.
 */
function Variants({ t, campaign }: Pick<PageProps, "t"> & { campaign: Record<string, unknown> | undefined }) {
  const variants = (campaign?.variants ?? []) as VariantView[];
  if (!variants.length) return null;
  const sms = (v: VariantView) => v.channel === "sms" || v.fallbackChannel === "sms";
  // A list, not a table: the audit trail below is the page's one table.
  return (
    <>
      <h2>{t("variants")}</h2>
      <ul class="variants">
        {variants.map((v) => (
          <li key={v.id}>
            <strong>{v.id}</strong> · {v.tiers.map((tier) => t.term(tier)).join(", ")} ·{" "}
            {v.fallbackChannel ? `${v.channel} → ${v.fallbackChannel}` : v.channel}
            <div>{v.fallbackTemplate ? `${v.template} / ${v.fallbackTemplate}` : v.template}</div>
            {sms(v) && (
              <div>
                {t("smsTemplateCode")}:{" "}
                {v.smsTemplateCode ? (
                  <code data-testid={`sms-template-code-${v.id}`}>{v.smsTemplateCode}</code>
                ) : (
                  <span class="error">{t("noTemplateCode")}</span>
                )}
              </div>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
