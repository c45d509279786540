/**
 * `{{name}}` and `{{name|default}}` templates, compiled once per variant into literal/variable parts
 * so rendering a million recipients is string concatenation, not parsing.
 */
export type TemplatePart = string | { name: string; fallback?: string };
export type CompiledTemplate = TemplatePart[];

const VAR = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\|([^}]*))?\}\}/g;

export function compileTemplate(template: string): CompiledTemplate | { error: string } {
  const parts: CompiledTemplate = [];
  let last = 0;
  for (const match of template.matchAll(VAR)) {
    if (match.index > last) parts.push(template.slice(last, match.index));
    parts.push(match[2] === undefined ? { name: match[1]! } : { name: match[1]!, fallback: match[2] });
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  const leftover = parts.filter((p): p is string => typeof p === "string").join("");
  if (leftover.includes("{{") || leftover.includes("}}"))
    return { error: "malformed {{variable}} placeholder" };
  return parts;
}

export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(VAR)].map((m) => m[1]!))];
}

/** Variables a template needs that have no default (a recipient lacking one cannot be rendered). */
export function requiredVariables(template: CompiledTemplate): string[] {
  return template.flatMap((p) => (typeof p !== "string" && p.fallback === undefined ? [p.name] : []));
}

export type Escape = (value: string) => string;
const identity: Escape = (v) => v;

export function render(
  template: CompiledTemplate,
  vars: Record<string, string | undefined>,
  esc: Escape = identity,
): string | { missing: string } {
  let out = "";
  for (const part of template) {
    if (typeof part === "string") {
      out += part;
      continue;
    }
    const value = vars[part.name];
    if (value === undefined || value === "") {
      if (part.fallback === undefined) return { missing: part.name };
      out += esc(part.fallback);
    } else out += esc(value);
  }
  return out;
}

/**
 * The values a rendered template took, one per variable in order of first appearance (defaults
 * applied): what a vendor's registered copy of the template is filled with (Aliyun by name, Tencent by
 * position). Call after `render` succeeded, so every variable without a default has a value.
 */
export function templateValues(
  template: CompiledTemplate,
  vars: Record<string, string | undefined>,
  esc: Escape = identity,
): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  const seen = new Set<string>();
  for (const part of template) {
    if (typeof part === "string" || seen.has(part.name)) continue;
    seen.add(part.name);
    const value = vars[part.name];
    out.push({
      name: part.name,
      value: esc(value === undefined || value === "" ? (part.fallback ?? "") : value),
    });
  }
  return out;
}

const HTML: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml: Escape = (v) => v.replace(/[&<>"']/g, (c) => HTML[c]!);

/** Control characters (and the bidi overrides used to disguise text) never reach an SMS or a subject line. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
export const stripControl: Escape = (v) => v.replace(CONTROL, "");

// GSM 03.38 basic set plus the extension table (extension characters take two septets).
const GSM_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
);
const GSM_EXT = new Set("^{}\\[~]|€");

export interface SmsSegments {
  encoding: "GSM-7" | "UCS-2";
  characters: number;
  parts: number;
}

/** Carrier segmentation: GSM-7 160/153 septets, UCS-2 70/67 code units (DOMAIN.md). */
export function smsSegments(text: string): SmsSegments {
  let septets = 0;
  let gsm = true;
  for (const ch of text) {
    if (GSM_BASIC.has(ch)) septets += 1;
    else if (GSM_EXT.has(ch)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm)
    return { encoding: "GSM-7", characters: septets, parts: septets <= 160 ? 1 : Math.ceil(septets / 153) };
  const units = text.length;
  return { encoding: "UCS-2", characters: units, parts: units <= 70 ? 1 : Math.ceil(units / 67) };
}
