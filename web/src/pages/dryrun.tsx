import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import type { T } from "../i18n.ts";
import { fmt } from "./common.tsx";
import { type Preview, PreviewSummary } from "./preview.tsx";

/** A dry-run job as the API answers it (GET /api/dry-runs/{jobId}). */
export interface DryRun {
  jobId: string;
  version: number | null;
  status: "queued" | "running" | "done" | "failed";
  at: string;
  progress: { tasksDone: number; tasksTotal: number; percent: number; recipientsDecided: number };
  error?: string;
  result?: Preview;
}

/** Polls a job while it runs (every second); answers it as it stands. */
export function useDryRun(initial: DryRun | undefined): DryRun | undefined {
  const [job, setJob] = useState<DryRun | undefined>(initial);
  useEffect(() => setJob(initial), [initial?.jobId, initial?.status]);
  useEffect(() => {
    if (!job || job.status === "done" || job.status === "failed") return;
    const timer = window.setTimeout(async () => {
      try {
        setJob(await api<DryRun>("GET", `/api/dry-runs/${encodeURIComponent(job.jobId)}`));
      } catch {
        setJob({ ...job });
      }
    }, 1000);
    return () => clearTimeout(timer);
  }, [job]);
  return job;
}

/** The job's progress while it runs, its result once done. */
export function DryRunPanel({ t, job }: { t: T; job: DryRun }) {
  if (job.status === "failed")
    return (
      <p class="notice" role="alert" data-testid="dry-run-failed">
        {t("dryRunFailed").replace("{e}", job.error ?? "")}
      </p>
    );
  if (job.status !== "done" || !job.result)
    return (
      <p class="notice" data-testid="dry-run-progress">
        <progress max={100} value={job.progress.percent} />{" "}
        {t("dryRunProgress")
          .replace("{done}", String(job.progress.tasksDone))
          .replace("{total}", job.progress.tasksTotal ? String(job.progress.tasksTotal) : "…")
          .replace("{n}", fmt(job.progress.recipientsDecided))}
      </p>
    );
  return (
    <>
      <p data-testid="dry-run-done">
        {(job.version === null ? t("dryRunOfBody") : t("dryRunOf"))
          .replace("{v}", String(job.version))
          .replace("{at}", t.date(job.at))}
      </p>
      <PreviewSummary t={t} preview={job.result} samplesPerVariant={2} />
    </>
  );
}
