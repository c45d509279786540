/** A parsed record and the 1-based physical line it starts on (what a person sees in an editor). */
export interface SourceRecord {
  line: number;
  value?: Record<string, unknown>;
  error?: string;
}

export const MAX_RECORD_CHARS = 1_000_000;

/** JSONL: one object per line; CRLF and a leading BOM are accepted, blank lines skipped. */
export async function* parseJsonl(chunks: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  let buffer = "";
  let line = 0;
  let first = true;
  let overflow = false;
  const emit = (text: string): SourceRecord | undefined => {
    line++;
    if (first) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.endsWith("\r")) text = text.slice(0, -1);
    if (text.trim() === "") return undefined;
    try {
      const value: unknown = JSON.parse(text);
      if (value === null || typeof value !== "object" || Array.isArray(value))
        return { line, error: "expected a JSON object" };
      return { line, value: value as Record<string, unknown> };
    } catch {
      return { line, error: "invalid JSON" };
    }
  };
  for await (const chunk of chunks) {
    buffer += chunk;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (overflow) {
        overflow = false;
        line++;
        yield { line, error: `line longer than ${MAX_RECORD_CHARS} characters` };
      } else {
        const record = emit(text);
        if (record) yield record;
      }
      nl = buffer.indexOf("\n");
    }
    if (buffer.length > MAX_RECORD_CHARS) {
      overflow = true;
      buffer = "";
    }
  }
  if (overflow) {
    line++;
    yield { line, error: `line longer than ${MAX_RECORD_CHARS} characters` };
  } else if (buffer.length > 0) {
    const record = emit(buffer);
    if (record) yield record;
  }
}

/**
 * RFC 4180 CSV, streaming: quoted fields with commas, doubled quotes and line breaks; CRLF or LF; BOM.
 * The first record is the header. Each record reports the line it starts on.
 */
export async function* parseCsv(chunks: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  let header: string[] | undefined;
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  let afterQuote = false;
  let line = 1;
  let recordLine = 1;
  let recordChars = 0;
  let malformed: string | undefined;
  let first = true;
  let pendingCr = false;

  const finish = (): SourceRecord | undefined => {
    fields.push(field);
    const row = fields;
    const startLine = recordLine;
    const problem = malformed;
    fields = [];
    field = "";
    afterQuote = false;
    malformed = undefined;
    recordChars = 0;
    if (problem)
      return header ? { line: startLine, error: problem } : { line: startLine, error: `header: ${problem}` };
    if (row.length === 1 && row[0]!.trim() === "") return undefined;
    if (!header) {
      header = row.map((h) => h.trim());
      return undefined;
    }
    if (row.length !== header.length)
      return { line: startLine, error: `expected ${header.length} fields, found ${row.length}` };
    const value: Record<string, unknown> = {};
    header.forEach((name, i) => {
      if (name) value[name] = row[i];
    });
    return { line: startLine, value };
  };

  let quotePending = false;
  for await (let chunk of chunks) {
    if (first) {
      first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      if (pendingCr) {
        pendingCr = false;
        if (ch === "\n") continue;
      }
      if (recordChars++ > MAX_RECORD_CHARS && !malformed)
        malformed = `record longer than ${MAX_RECORD_CHARS} characters`;
      if (quotePending) {
        // A quote ended the previous chunk: `""` is an escaped quote, anything else closed the field.
        quotePending = false;
        if (ch === '"') {
          if (!malformed) field += '"';
          continue;
        }
        inQuotes = false;
        afterQuote = true;
      }
      if (inQuotes) {
        if (ch === '"') {
          if (i + 1 === chunk.length) quotePending = true;
          else if (chunk[i + 1] === '"') {
            if (!malformed) field += '"';
            i++;
          } else {
            inQuotes = false;
            afterQuote = true;
          }
        } else {
          if (ch === "\n" || (ch === "\r" && chunk[i + 1] !== "\n")) line++;
          if (!malformed) field += ch;
        }
        continue;
      }
      if (ch === '"') {
        if (!afterQuote && field.trim() === "") {
          field = "";
          inQuotes = true;
        } else if (!malformed) malformed = "stray quote inside an unquoted field";
        continue;
      }
      if (ch === ",") {
        fields.push(field);
        field = "";
        afterQuote = false;
        continue;
      }
      if (ch === "\n" || ch === "\r") {
        if (ch === "\r") {
          if (i + 1 < chunk.length) {
            if (chunk[i + 1] === "\n") i++;
          } else pendingCr = true;
        }
        const record = finish();
        line++;
        recordLine = line;
        if (record) yield record;
        continue;
      }
      if (afterQuote) {
        if (!malformed && ch.trim() !== "") malformed = "characters after a closing quote";
        continue;
      }
      if (!malformed) field += ch;
    }
  }
  if (quotePending) {
    quotePending = false;
    inQuotes = false;
    afterQuote = true;
  }
  if (inQuotes) malformed ??= "unterminated quoted field";
  if (fields.length > 0 || field !== "" || malformed) {
    const record = finish();
    if (record) yield record;
  }
}
