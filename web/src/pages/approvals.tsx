import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import type { PageProps } from "../main.tsx";
import { type CampaignSummary, ErrorBox, Table } from "./common.tsx";

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
  const decide = async (id: string, action: "approve" | "reject") => {
    setError(undefined);
    try {
      await api("POST", `/api/campaigns/${encodeURIComponent(id)}/${action}`, {});
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
      {rows && rows.length > 0 && (
        <Table
          head={[t("campaignId"), t("name"), t("playbook"), t("version"), t("by"), ""]}
          rows={rows.map((c) => [
            <a href={`#/campaign/${encodeURIComponent(c.campaignId)}`}>{c.campaignId}</a>,
            c.name,
            t.term(c.playbook),
            c.version,
            c.createdBy ?? "",
            canDecide ? (
              <span class="actions">
                <button type="button" onClick={() => decide(c.campaignId, "approve")}>
                  {t("approve")} {c.campaignId}
                </button>
                <button type="button" class="secondary" onClick={() => decide(c.campaignId, "reject")}>
                  {t("reject")}
                </button>
              </span>
            ) : (
              ""
            ),
          ])}
        />
      )}
    </section>
  );
}
