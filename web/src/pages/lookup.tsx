import { useState } from "preact/hooks";
import { api } from "../api.ts";
import type { PageProps } from "../main.tsx";
import { ErrorBox, Table } from "./common.tsx";

interface Decisions {
  customer: Record<string, unknown>;
  decisions: {
    campaignId: string;
    decision: string;
    reason: string;
    channel: string;
    variant: string;
    at: string;
    stage: string;
  }[];
}

export function Lookup({ t }: PageProps) {
  const [id, setId] = useState("");
  const [result, setResult] = useState<Decisions>();
  const [error, setError] = useState<unknown>();
  const search = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setResult(undefined);
    try {
      setResult(await api<Decisions>("GET", `/api/customers/${encodeURIComponent(id.trim())}/decisions`));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>{t("lookup")}</h1>
      <form class="inline" onSubmit={search}>
        <label for="cust">{t("customerId")}</label>
        <input id="cust" value={id} onInput={(e) => setId(e.currentTarget.value)} required />
        <button type="submit">{t("search")}</button>
      </form>
      <ErrorBox error={error} />
      {result && (
        <>
          <dl class="facts">
            {Object.entries(result.customer).map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{String(v)}</dd>
              </div>
            ))}
          </dl>
          <Table
            head={[
              t("campaigns"),
              t("decision"),
              t("reason"),
              t("channel"),
              t("variant"),
              t("stage"),
              t("at"),
            ]}
            rows={result.decisions.map((d) => [
              d.campaignId,
              t.term(d.decision),
              d.reason ? t.term(d.reason) : "—",
              t.term(d.channel),
              d.variant,
              d.stage,
              d.at,
            ])}
          />
        </>
      )}
    </section>
  );
}
