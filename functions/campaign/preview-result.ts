/**
 * The dry run's answer (POST /api/preview, GET /api/campaigns/{id}/preview), as a types-only module
 * with no imports: the functions' tsconfig and the console's (web/, DOM, no node types) both compile
 * it, so the console reads the very type the API returns instead of a copy that can drift.
 */

/** A rendered message as the preview shows it (contact masked). */
export interface PreviewMessage {
  to: string;
  text?: string;
  subject?: string;
  html?: string;
  parts?: number;
  listUnsubscribe?: string;
  /** SMS through a domestic vendor: the registered template and its variables' values. */
  template?: { code: string; params: { name: string; value: string }[] };
}

export interface PreviewResult {
  campaignId: string;
  audience: number;
  eligible: number;
  deferred: number;
  holdout: number;
  excluded: Record<string, number>;
  byTier: Record<
    string,
    {
      audience: number;
      eligible: number;
      deferred: number;
      holdout: number;
      excluded: number;
      excludedBy: Record<string, number>;
    }
  >;
  byVariant: Record<string, { channel: string; eligible: number; deferred: number; smsParts: number }>;
  sms: { messages: number; parts: number; estimatedCost: number; currency: "CNY" };
  samples: { variant: string; channel: string; tier: string; message: PreviewMessage; dueAt?: string }[];
  problems: string[];
}
