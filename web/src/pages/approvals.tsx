import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import type { T } from "../i18n.ts";
import type { PageProps } from "../main.tsx";
import { type CampaignSummary, ConfirmButton, ErrorBox, Table } from "./common.tsx";
import { type DryRun, DryRunPanel, useDryRun } from "./dryrun.tsx";

interface Changes {
  version: number;
  lastApproved: { version: number; by: string; at: string } | null;
  changes: { path: string; before?: unknown; after?: unknown }[];
}

const shown = (v: unknown) => (v === undefined ? "∅" : typeof v === "string" ? v : JSON.stringify(v));

/** What changed since the version last approved, field by field (the approver sees the edit itself). */
function ChangeList({ t, changes }: { t: T; changes: Changes }) {
  if (!changes.lastApproved) return <p data-testid="changes">{t("firstApproval")}</p>;
  const since = `v${changes.lastApproved.version} (${changes.lastApproved.by}, ${t.date(changes.lastApproved.at)}) → v${changes.version}`;
  if (changes.changes.length === 0)
    return (
      <p data-testid="changes">
        {since}: {t("noChanges")}
      </p>
    );
  return (
    <div data-testid="changes">
      <p>{since}</p>
      <Table
        head={[t("field"), t("before"), t("after")]}
        rows={changes.changes.map((c) => [
          <code>{c.path}</code>,
          <del>{shown(c.before)}</del>,
          <ins>{shown(c.after)}</ins>,
        ])}
      />
    </div>
  );
}

/** GET /api/campaigns/{id}/dry-run: the latest dry run of the version under approval. */
interface CampaignDryRun {
  state: "current" | "older_version" | "missing";
  currentVersion: number;
  dryRun: DryRun | null;
}

/** One campaign waiting for a decision, with everything a checker needs to decide it. */
function Review({
  t,
  c,
  canDecide,
  canStart = canDecide,
  decide,
}: {
  t: T;
  c: CampaignSummary;
  canDecide: boolean;
  /** Whether this user may start a dry run (marketer, approver, admin). */
  canStart?: boolean;
  decide: (id: string, action: "approve" | "reject", note?: string) => void;
}) {
  const [view, setView] = useState<CampaignDryRun>();
  const [changes, setChanges] = useState<Changes>();
  const [error, setError] = useState<unknown>();
  const base = `/api/campaigns/${encodeURIComponent(c.campaignId)}`;
  // The stored dry run of this version (a submit starts one), never a dry run per page view.
  useEffect(() => {
    api<CampaignDryRun>("GET", `${base}/dry-run`).then(setView, setError);
    api<Changes>("GET", `${base}/changes`).then(setChanges, setError);
  }, [c.campaignId, c.version]);
  const dryRun = useDryRun(view?.state === "current" ? (view.dryRun ?? undefined) : undefined);
  const runDryRun = async () => {
    setError(undefined);
    try {
      const job = await api<DryRun>("POST", `${base}/dry-runs`, {});
      setView({ state: "current", currentVersion: c.version, dryRun: job });
    } catch (err) {
      setError(err);
    }
  };
  return (
    <article class="review" aria-label={`${t("review")} ${c.campaignId}`}>
      <h2>
        <a href={`#/campaign/${encodeURIComponent(c.campaignId)}`}>{c.campaignId}</a> {c.name}
      </h2>
      <p>
        {t.term(c.playbook)} · {t("version")} {c.version} · {t("by")} {c.createdBy ?? ""}
      </p>
      <ErrorBox error={error} />
      <h3>{t("changes")}</h3>
      {changes && <ChangeList t={t} changes={changes} />}
      <h3>{t("preview")}</h3>
      {view && view.state !== "current" && (
        <>
          <p class="notice" data-testid="dry-run-state">
            {view.state === "missing"
              ? t("dryRunMissing")
              : t("dryRunOlder").replace("{v}", String(view.dryRun?.version ?? "?"))}
          </p>
          {canStart && (
            <button type="button" onClick={runDryRun}>
              {t("runDryRun")}
            </button>
          )}
        </>
      )}
      {dryRun && <DryRunPanel t={t} job={dryRun} />}
      {canDecide && (
        <div class="actions">
          <ConfirmButton
            t={t}
            label={`${t("approve")} ${c.campaignId}`}
            question={t("confirmApprove")}
            onConfirm={() => decide(c.campaignId, "approve")}
          />
          <ConfirmButton
            t={t}
            label={`${t("reject")} ${c.campaignId}`}
            question={t("confirmReject")}
            reasonLabel={t("rejectReason")}
            danger
            onConfirm={(note) => decide(c.campaignId, "reject", note)}
          />
        </div>
      )}
    </article>
  );
}

export function Approvals({ t, me }: PageProps) {
  const [rows, setRows] = useState<CampaignSummary[]>();
  const [error, setError] = useState<unknown>();
  const load = () =>
    api<{ campaigns: CampaignSummary[] }>("GET", "/api/campaigns").then(
      (r) => setRows(r.campaigns.filter((c) => c.status === "submitted")),
      setError,
    );
  useEffect(() => {
    load();
  }, []);
  const decide = async (id: string, action: "approve" | "reject", note = "") => {
    setError(undefined);
    try {
      await api("POST", `/api/campaigns/${encodeURIComponent(id)}/${action}`, note ? { note } : {});
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const canDecide = me.role === "approver" || me.role === "admin";
  return (
    <section>
      <h1>{t("approvals")}</h1>
      <ErrorBox error={error} />
      {rows && rows.length === 0 && <p>{t("nothingToApprove")}</p>}
      {rows?.map((c) => (
        <Review
          key={c.campaignId}
          t={t}
          c={c}
          canDecide={canDecide}
          canStart={canDecide || me.role === "marketer"}
          decide={decide}
        />
      ))}
    </section>
  );
}
