import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import type { PageProps } from "../main.tsx";
import { type CampaignSummary, ConfirmButton, ErrorBox, Table } from "./common.tsx";

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
