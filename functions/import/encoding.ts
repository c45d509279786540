import chardet from "chardet";
import iconv from "iconv-lite";
import { InputError } from "#platform/errors.ts";

/** `utf-8`, or a name iconv-lite knows (gb18030 reads GBK and GB2312 too). */
export type Encoding = string;

export class EncodingError extends InputError {
  override readonly code: string = "bad_encoding";
}

const ALIASES: Record<string, Encoding> = {
  utf8: "utf-8",
  "utf-8": "utf-8",
  gbk: "gb18030",
  gb2312: "gb18030",
  gb18030: "gb18030",
  cp936: "gb18030",
  "936": "gb18030",
};

/** `--encoding NAME` / `?encoding=NAME`: auto, utf-8, gbk, gb18030, or anything iconv-lite reads. */
export function parseEncoding(name: string): Encoding | "auto" {
  const n = name.trim().toLowerCase();
  if (n === "auto") return "auto";
  const known = ALIASES[n];
  if (known) return known;
  if (iconv.encodingExists(n) && !/^utf-?(16|32)/.test(n) && !/^ucs-?2/.test(n)) return n;
  throw new EncodingError(
    `unknown or unsupported encoding "${name}": use utf-8, gbk, gb18030 (or auto to detect UTF-8/GBK)`,
  );
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const isUtf8 = (b: Buffer) => {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
};

// C0 controls other than tab, LF, CR: a line holding them is binary, not text in another encoding.
const isBinary = (b: Buffer) =>
  b.some((x) => (x < 0x20 && x !== 0x09 && x !== 0x0a && x !== 0x0d) || x === 0x7f);

/**
 * Share of a GBK line's double-byte characters that are GB2312's hanzi, punctuation or full-width
 * forms: ~1 for Chinese text, far lower for Big5, Shift-JIS or Latin-1 read as GBK (kana, Greek,
 * the rare extension areas). Undefined when the bytes are not GBK/GB18030 at all.
 */
function gb2312Share(line: Buffer): { share: number; pairs: number } | undefined {
  let pairs = 0;
  let common = 0;
  for (let i = 0; i < line.length; i++) {
    const a = line[i]!;
    if (a < 0x80) continue;
    const b = line[i + 1];
    if (b === undefined || a === 0x80 || a === 0xff) return undefined;
    if (b >= 0x30 && b <= 0x39) {
      // GB18030 four-byte sequence: rare in Chinese text, valid though.
      const c = line[i + 2];
      const d = line[i + 3];
      if (c === undefined || d === undefined || c < 0x81 || c > 0xfe || d < 0x30 || d > 0x39)
        return undefined;
      pairs++;
      i += 3;
      continue;
    }
    if (b < 0x40 || b === 0x7f || b === 0xff) return undefined;
    pairs++;
    if (b >= 0xa1 && ((a >= 0xb0 && a <= 0xf7) || a === 0xa1 || a === 0xa3)) common++;
    i++;
  }
  return { share: pairs ? common / pairs : 1, pairs };
}

/**
 * Decides how to read a file from its first bytes. UTF-8 with or without BOM; GBK/GB18030 when its
 * non-UTF-8 lines read as common Chinese text. Binary junk lines do not decide anything: they stay
 * UTF-8 and are rejected one by one. Anything else is refused with a hint, never guessed into mojibake.
 */
export function sniffEncoding(sample: Buffer, complete: boolean): Encoding {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return "utf-8";
  if ((sample[0] === 0xff && sample[1] === 0xfe) || (sample[0] === 0xfe && sample[1] === 0xff))
    throw new EncodingError(
      'the file is UTF-16 (Excel\'s "Unicode text"): save it as "CSV UTF-8" or CSV, or import the .xlsx itself',
    );
  // A sample cut mid-file may end inside a character: judge whole lines only.
  const cutAt = complete ? sample.length : sample.lastIndexOf(0x0a) + 1;
  const body = cutAt > 0 ? sample.subarray(0, cutAt) : sample;
  if (isUtf8(body)) return "utf-8";
  const lines: Buffer[] = [];
  for (let from = 0; from < body.length; ) {
    const nl = body.indexOf(0x0a, from);
    const end = nl < 0 ? body.length : nl;
    lines.push(body.subarray(from, end));
    from = end + 1;
  }
  const invalid = lines.filter((l) => !isUtf8(l));
  const textLines = invalid.filter((l) => !isBinary(l));
  if (textLines.length === 0) return "utf-8";
  // Reading as UTF-8 can never make mojibake (a bad line is rejected), so it is the answer whenever
  // the file is not confidently GBK and junk in it (binary lines) says it is no clean legacy export.
  const junk = textLines.length < invalid.length;
  const utf8NonAscii = lines.some((l) => isUtf8(l) && l.some((x) => x >= 0x80));
  let pairs = 0;
  let common = 0;
  let gbk = !utf8NonAscii;
  for (const l of textLines) {
    const s = gb2312Share(l);
    if (!s) {
      gbk = false;
      break;
    }
    pairs += s.pairs;
    common += s.share * s.pairs;
  }
  if (gbk && pairs > 0 && common / pairs >= 0.9) return "gb18030";
  if (junk) return "utf-8";
  const guess = chardet.analyse(Buffer.concat(textLines))[0];
  const named = guess ? ` (it looks most like ${guess.name}, ${guess.confidence}% sure)` : "";
  throw new EncodingError(
    utf8NonAscii
      ? "the file mixes UTF-8 with another encoding: re-export it in one encoding (UTF-8 preferred)"
      : `cannot tell the file's encoding: it is not UTF-8 and does not read as GBK Chinese text${named}; re-export it as UTF-8, or name its encoding with --encoding (e.g. --encoding gbk, --encoding big5)`,
  );
}
