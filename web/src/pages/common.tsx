import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { RequestError } from "../api.ts";
import { ERRORS, type T } from "../i18n.ts";

/**
 * A failed request in the chosen language (the page's `lang`, set by the app): a known error code by
 * its translation, the server's English message beside it only in English; an unknown code as sent.
 */
export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const problems = error instanceof RequestError ? error.body.problems : undefined;
  const zh = document.documentElement.lang !== "en";
  const known = error instanceof RequestError ? ERRORS[error.body.error] : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div role="alert" class="error" data-code={error instanceof RequestError ? error.body.error : undefined}>
      {known ? (
        <p>
          {known[zh ? 0 : 1]}
          {zh ? "" : `: ${message}`}
        </p>
      ) : (
        <p>{message}</p>
      )}
      {problems && (
        <ul>
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export const Status = ({ status, t }: { status: string; t: T }) => (
  <span class={`status s-${status}`} data-status={status}>
    {t.term(status)}
  </span>
);

export function Table({
  head,
  rows,
  caption,
}: {
  head: ComponentChildren[];
  rows: ComponentChildren[][];
  caption?: string;
}) {
  return (
    <table>
      {caption && <caption>{caption}</caption>}
      <thead>
        <tr>
          {head.map((h, i) => (
            <th key={i} scope="col">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            {r.map((c, j) => (
              <td key={j}>{c}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// zh-CN and en-US group digits alike; naming one keeps Intl off the browser's default, which can be invalid.
export const fmt = (n: unknown) => (typeof n === "number" ? n.toLocaleString("en-US") : String(n ?? ""));
export const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export interface CampaignSummary {
  campaignId: string;
  name: string;
  playbook: string;
  status: string;
  version: number;
  tiers: string[];
  createdBy: string | null;
  branchId: string | null;
  approval: { version: number; by: string; at: string } | null;
  updatedAt: string;
  summary: Record<string, number> | null;
  /** Sent so far, sends released later by tick included. */
  sent: number | null;
  campaign?: Record<string, unknown>;
}

/**
 * An action that cannot be taken back (approve, launch, cancel, reject) asks once more, saying what it
 * does; with `reasonLabel` it also asks why, and sends nothing until a reason is given.
 */
export function ConfirmButton({
  t,
  label,
  question,
  onConfirm,
  reasonLabel,
  disabled,
  danger,
}: {
  t: T;
  label: string;
  question: string;
  onConfirm: (reason: string) => void;
  reasonLabel?: string;
  disabled?: boolean;
  danger?: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  if (!open)
    return (
      <button
        type="button"
        class={danger ? "danger" : undefined}
        disabled={disabled}
        onClick={() => setOpen(true)}
      >
        {label}
      </button>
    );
  return (
    <fieldset class="confirm">
      <legend>{question}</legend>
      {reasonLabel && (
        <input
          aria-label={reasonLabel}
          placeholder={reasonLabel}
          value={reason}
          maxLength={500}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
      )}
      <button
        type="button"
        class={danger ? "danger" : undefined}
        disabled={disabled || (reasonLabel !== undefined && reason.trim() === "")}
        onClick={() => {
          setOpen(false);
          onConfirm(reason.trim());
        }}
      >
        {t("confirm")}
      </button>
      <button type="button" class="secondary" onClick={() => setOpen(false)}>
        {t("back")}
      </button>
    </fieldset>
  );
}
