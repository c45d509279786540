import iconv from "iconv-lite";
import { type Encoding, sniffEncoding } from "./encoding.ts";

/** A parsed record and the 1-based physical line it starts on (what a person sees in an editor). */
export interface SourceRecord {
  line: number;
  value?: Record<string, unknown>;
  error?: string;
  /** Byte offset just past this record in the source: where a resumed import starts again… */
  end?: number;
  /** …on this line. */
  next?: number;
}

export const MAX_RECORD_BYTES = 1_000_000;

export type Format = "jsonl" | "csv";

export interface ReadOptions {
  format: Format;
  /** `auto` (default) sniffs the first 64 KB: UTF-8 (with or without BOM) or GBK/GB18030, else refuses. */
  encoding?: Encoding | "auto";
  /** Resume: the stream starts at this byte offset of the source, on this line (after a record). */
  startOffset?: number;
  startLine?: number;
  /** Resume of a CSV: its header, read before the offset. */
  header?: string[];
  /** Called once the encoding is known (import jobs remember it for a resume). */
  onEncoding?: (encoding: Encoding) => void;
  onHeader?: (header: string[]) => void;
}

interface Frame {
  bytes: Buffer;
  line: number;
  /** Line breaks inside the record (quoted CSV fields). */
  breaks: number;
  end: number;
  tooLong: boolean;
  /** The stream ended inside a quoted CSV field. */
  unterminated?: boolean;
}

/**
 * Cuts a byte stream into records before decoding: JSONL at each LF, CSV at each line break outside
 * quotes. Both byte values are ASCII, and no UTF-8 or GB18030 multi-byte sequence contains them, so
 * every record decodes on its own: a bad byte costs its record, and a resume can start at any `end`.
 */
async function* frames(
  chunks: AsyncIterable<Uint8Array>,
  format: Format,
  startOffset: number,
  startLine: number,
): AsyncGenerator<Frame> {
  let parts: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  let offset = startOffset;
  let line = startLine;
  let breaks = 0;
  let inQuotes = false;
  let afterClose = false;
  let fieldStart = true;
  let pendingCr = false;
  let first = startOffset === 0;

  const take = (chunk: Buffer, from: number, to: number) => {
    if (tooLong || to <= from) return;
    size += to - from;
    if (size > MAX_RECORD_BYTES) {
      tooLong = true;
      parts = [];
    } else parts.push(chunk.subarray(from, to));
  };
  const cut = (end: number): Frame => {
    const frame = { bytes: Buffer.concat(parts), line, breaks, end, tooLong };
    line += breaks + 1;
    parts = [];
    size = 0;
    tooLong = false;
    breaks = 0;
    return frame;
  };

  for await (const raw of chunks) {
    let chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (first) {
      first = false;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
        chunk = chunk.subarray(3);
        offset += 3;
      }
    }
    let from = 0;
    if (format === "jsonl") {
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
        take(chunk, from, nl);
        from = nl + 1;
        yield cut(offset + from);
      }
      take(chunk, from, chunk.length);
      offset += chunk.length;
      continue;
    }
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (pendingCr) {
        pendingCr = false;
        if (b === 0x0a) {
          from = i + 1;
          continue;
        }
      }
      if (b === 0x22) {
        // Only a quote at the start of a field opens one; `""` inside it is a quote (see afterClose).
        if (inQuotes) {
          inQuotes = false;
          afterClose = true;
        } else if (afterClose || fieldStart) {
          inQuotes = true;
          afterClose = false;
        }
        fieldStart = false;
        continue;
      }
      if (inQuotes) {
        if (b === 0x0a || (b === 0x0d && chunk[i + 1] !== 0x0a)) breaks++;
        continue;
      }
      afterClose = false;
      if (b === 0x2c) fieldStart = true;
      else if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) fieldStart = false;
      if (b === 0x0a || b === 0x0d) {
        fieldStart = true;
        take(chunk, from, i);
        if (b === 0x0d) {
          if (i + 1 < chunk.length) {
            if (chunk[i + 1] === 0x0a) i++;
          } else pendingCr = true;
        }
        from = i + 1;
        yield cut(offset + from);
      }
    }
    take(chunk, from, chunk.length);
    offset += chunk.length;
  }
  if (size > 0 || tooLong || inQuotes) yield { ...cut(offset), unterminated: inQuotes };
}

/** Waits for the first 64 KB, decides the encoding, then hands the whole stream on unchanged. */
async function* sniffed(
  chunks: AsyncIterable<Uint8Array>,
  decide: (sample: Buffer, complete: boolean) => void,
): AsyncGenerator<Buffer> {
  const SAMPLE = 64 * 1024;
  const held: Buffer[] = [];
  let size = 0;
  let decided = false;
  for await (const raw of chunks) {
    const chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (decided) {
      yield chunk;
      continue;
    }
    held.push(chunk);
    size += chunk.length;
    if (size >= SAMPLE) {
      decide(Buffer.concat(held), false);
      decided = true;
      yield* held;
    }
  }
  if (!decided) {
    decide(Buffer.concat(held), true);
    yield* held;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decode(bytes: Buffer, encoding: Encoding): string | undefined {
  if (encoding === "utf-8") {
    try {
      return utf8.decode(bytes);
    } catch {
      return undefined;
    }
  }
  const text = iconv.decode(bytes, encoding);
  // iconv-lite writes U+FFFD for a byte sequence the encoding does not have: the record is not text.
  return text.includes("\uFFFD") ? undefined : text;
}

/** One CSV record (already cut by `frames`) into fields, RFC 4180, or why it is malformed. */
export function splitCsvRecord(text: string): { fields: string[] } | { error: string } {
  const fields: string[] = [];
  let field = "";
  let i = 0;
  for (;;) {
    // Leading spaces before an opening quote are allowed, as the streaming parser always did.
    let j = i;
    while (text[j] === " " || text[j] === "\t") j++;
    if (text[j] === '"') {
      i = j + 1;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return { error: "unterminated quoted field" };
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      while (i < text.length && text[i] !== ",") {
        if (text[i]!.trim() !== "") return { error: "characters after a closing quote" };
        i++;
      }
    } else {
      const comma = text.indexOf(",", i);
      const end = comma < 0 ? text.length : comma;
      field = text.slice(i, end);
      if (field.includes('"')) return { error: "stray quote inside an unquoted field" };
      i = end;
    }
    fields.push(field);
    field = "";
    if (i >= text.length) return { fields };
    i++; // the comma
  }
}

const hint = (encoding: Encoding) =>
  encoding === "utf-8"
    ? "bytes that are not UTF-8 text (if the file is GBK, pass --encoding gbk / ?encoding=gbk)"
    : `bytes that are not ${encoding} text`;

/**
 * Records of a JSONL or CSV byte stream, streaming: the encoding is sniffed (or given), each record is
 * decoded on its own, and every problem is a record with its line, never a stop. Throws
 * EncodingError before yielding anything when the encoding is doubtful.
 */
export async function* readRecords(
  chunks: AsyncIterable<Uint8Array>,
  options: ReadOptions,
): AsyncGenerator<SourceRecord> {
  let encoding: Encoding = options.encoding && options.encoding !== "auto" ? options.encoding : "utf-8";
  const given = options.encoding !== undefined && options.encoding !== "auto";
  const source = sniffed(chunks, (sample, complete) => {
    if (!given && !options.startOffset) encoding = sniffEncoding(sample, complete);
    options.onEncoding?.(encoding);
  });
  let header = options.header;
  for await (const frame of frames(
    source,
    options.format,
    options.startOffset ?? 0,
    options.startLine ?? 1,
  )) {
    const { line, end } = frame;
    const next = line + frame.breaks + 1;
    if (frame.tooLong) {
      yield {
        line,
        end,
        error: `${options.format === "csv" ? "record" : "line"} longer than ${MAX_RECORD_BYTES} bytes`,
      };
      continue;
    }
    let text = decode(frame.bytes, encoding);
    if (text === undefined) {
      yield { line, end, next, error: hint(encoding) };
      continue;
    }
    if (options.format === "jsonl") {
      if (text.endsWith("\r")) text = text.slice(0, -1);
      if (text.trim() === "") continue;
      try {
        const value: unknown = JSON.parse(text);
        if (value === null || typeof value !== "object" || Array.isArray(value))
          yield { line, end, next, error: "expected a JSON object" };
        else yield { line, end, next, value: value as Record<string, unknown> };
      } catch {
        yield { line, end, next, error: "invalid JSON" };
      }
      continue;
    }
    if (frame.unterminated) {
      yield {
        line,
        end,
        next,
        error: header ? "unterminated quoted field" : "header: unterminated quoted field",
      };
      continue;
    }
    if (text.trim() === "") continue;
    const split = splitCsvRecord(text);
    if ("error" in split) {
      yield { line, end, next, error: header ? split.error : `header: ${split.error}` };
      continue;
    }
    if (!header) {
      header = split.fields.map((h) => h.trim());
      options.onHeader?.(header);
      continue;
    }
    if (split.fields.length !== header.length) {
      yield { line, end, next, error: `expected ${header.length} fields, found ${split.fields.length}` };
      continue;
    }
    const value: Record<string, unknown> = {};
    header.forEach((name, i) => {
      if (name) value[name] = split.fields[i];
    });
    yield { line, end, next, value };
  }
}

async function* utf8Bytes(chunks: AsyncIterable<string>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) yield Buffer.from(chunk, "utf8");
}

/** Text in, records out; byte offsets of a re-encoding would mean nothing to the caller, so they go. */
async function* fromText(chunks: AsyncIterable<string>, format: Format): AsyncGenerator<SourceRecord> {
  for await (const { end: _end, next: _next, ...record } of readRecords(utf8Bytes(chunks), {
    format,
    encoding: "utf-8",
  }))
    yield record;
}

/** JSONL from text (already decoded): one object per line; CRLF and a leading BOM are accepted, blank lines skipped. */
export function parseJsonl(chunks: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  return fromText(chunks, "jsonl");
}

/**
 * RFC 4180 CSV from text: quoted fields with commas, doubled quotes and line breaks; CRLF or LF; BOM.
 * The first record is the header. Each record reports the line it starts on.
 */
export function parseCsv(chunks: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  return fromText(chunks, "csv");
}
