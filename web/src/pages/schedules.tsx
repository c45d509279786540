import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { describeCron } from "../cron.ts";
import type { PageProps } from "../main.tsx";
import { ConfirmButton, ErrorBox, Table } from "./common.tsx";

interface ScheduleRow {
  scheduleId: string;
  campaignId: string;
  cron: string;
  holidaysOnly: boolean;
  enabled: boolean;
  nextRunAt: string;
  lastCampaignId?: string;
}

export function Schedules({ t, me }: PageProps) {
  const [rows, setRows] = useState<ScheduleRow[]>();
  const [form, setForm] = useState({
    scheduleId: "",
    campaignId: "",
    cron: "0 10 1 * *",
    holidaysOnly: false,
  });
  const [error, setError] = useState<unknown>();
  const load = () =>
    api<{ schedules: ScheduleRow[] }>("GET", "/api/schedules").then((r) => setRows(r.schedules), setError);
  useEffect(() => {
    load();
  }, []);
  const save = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const { scheduleId, ...body } = form;
      await api("PUT", `/api/schedules/${encodeURIComponent(scheduleId)}`, body);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const act = async (run: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await run();
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const path = (r: ScheduleRow) => `/api/schedules/${encodeURIComponent(r.scheduleId)}`;
  /** Disable or enable: the same schedule written again with the flag turned. */
  const toggle = (r: ScheduleRow) =>
    act(() =>
      api("PUT", path(r), {
        campaignId: r.campaignId,
        cron: r.cron,
        holidaysOnly: r.holidaysOnly,
        enabled: !r.enabled,
      }),
    );
  const maker = me.role === "marketer" || me.role === "admin";
  const field = (k: "scheduleId" | "campaignId" | "cron") => (e: Event) =>
    setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });
  return (
    <section>
      <h1>{t("schedules")}</h1>
      {rows && (
        <Table
          head={[
            "id",
            t("campaignId"),
            t("cron"),
            t("cronReadable"),
            t("enabled"),
            t("nextRun"),
            t("lastRun"),
            "",
          ]}
          rows={rows.map((r) => [
            r.scheduleId,
            r.campaignId,
            <code>{r.cron}</code>,
            <span data-testid={`cron-${r.scheduleId}`}>{describeCron(r.cron, t.lang)}</span>,
            r.enabled ? "✓" : "✗",
            r.enabled ? t.date(r.nextRunAt) : "—",
            r.lastCampaignId ?? "",
            maker ? (
              <span class="actions">
                <button type="button" class="secondary" onClick={() => toggle(r)}>
                  {`${t(r.enabled ? "disable" : "enable")} ${r.scheduleId}`}
                </button>
                <ConfirmButton
                  t={t}
                  danger
                  label={`${t("remove")} ${r.scheduleId}`}
                  question={t("confirmRemove")}
                  onConfirm={() => act(() => api("DELETE", path(r)))}
                />
              </span>
            ) : (
              ""
            ),
          ])}
        />
      )}
      {maker && (
        <form class="grid" onSubmit={save}>
          <label for="sid">id</label>
          <input id="sid" value={form.scheduleId} onInput={field("scheduleId")} required />
          <label for="scamp">{t("campaignId")}</label>
          <input id="scamp" value={form.campaignId} onInput={field("campaignId")} required />
          <label for="scron">{t("cron")}</label>
          <input id="scron" value={form.cron} onInput={field("cron")} required />
          <label for="shol">{t("holidaysOnly")}</label>
          <input
            id="shol"
            type="checkbox"
            checked={form.holidaysOnly}
            onChange={(e) => setForm({ ...form, holidaysOnly: e.currentTarget.checked })}
          />
          <span />
          <button type="submit">{t("save")}</button>
        </form>
      )}
      <ErrorBox error={error} />
    </section>
  );
}
