import { PassThrough } from "node:stream";
import ExcelJS from "exceljs";
import iconv from "iconv-lite";
import { describe, expect, it } from "vitest";
import type { Customer } from "#functions/customers/record.ts";
import { importRecords } from "#functions/import/core.ts";
import { EncodingError, sniffEncoding } from "#functions/import/encoding.ts";
import { readRecords, type SourceRecord } from "#functions/import/parse.ts";
import { readXlsx } from "#functions/import/xlsx.ts";
import { parseConfig } from "#platform/config.ts";
import { csvCell, csvRow } from "#platform/csv.ts";
import { isIsoDate, parseInstant } from "#platform/dates.ts";
import { maskPii } from "#platform/logger.ts";
import { Money, numberProblem, toFen } from "#platform/storable.ts";
import { collect } from "../helpers.ts";

const config = parseConfig({});

async function* bytes(...parts: (string | Buffer)[]) {
  for (const p of parts) yield typeof p === "string" ? Buffer.from(p) : p;
}

describe("strict dates", () => {
  it.each(["2027-02-30", "2027-02-29", "2027-13-01", "2027-00-10", "2027-04-31"])("refuses %s", (d) => {
    expect(isIsoDate(d)).toBe(false);
    expect(parseInstant(`${d}T10:00:00Z`)).toBeUndefined();
  });
  it("accepts real days, leap days and offsets", () => {
    expect(isIsoDate("2028-02-29")).toBe(true);
    expect(parseInstant("2027-03-01T10:00:00+08:00")?.toISOString()).toBe("2027-03-01T02:00:00.000Z");
    expect(parseInstant("2027-03-01T10:00:00+0800")?.toISOString()).toBe("2027-03-01T02:00:00.000Z");
    expect(parseInstant("2027-03-01", { dateOnly: true })?.toISOString()).toBe("2027-03-01T00:00:00.000Z");
  });
  it.each([
    "2027-03-01T24:00:00Z",
    "2027-03-01T10:60Z",
    "2027-03-01T10:00:61Z",
    "2027-03-01T10:00+25:00",
    "tomorrow",
    "2027-03-01",
  ])("refuses the instant %s", (s) => expect(parseInstant(s)).toBeUndefined());
});

describe("values the store cannot hold", () => {
  it("knows DynamoDB's number range", () => {
    expect(numberProblem(1e308)).toMatch(/range/);
    expect(numberProblem(1e126)).toMatch(/range/);
    expect(numberProblem(1e-131)).toMatch(/range/);
    expect(numberProblem(9.99e125)).toBeUndefined();
    expect(numberProblem(0)).toBeUndefined();
  });
  it("keeps money exact to the fen and within range", () => {
    expect(toFen(1.005)).toBe(101);
    expect(toFen(49_999.99)).toBe(4_999_999);
    expect(Money.safeParse("1,234.565").data).toBe(1234.57);
    expect(Money.safeParse(1e308).success).toBe(false);
    expect(Money.safeParse("1e308").success).toBe(false);
  });
});

describe("import: a value the store cannot hold is one rejected line, never a lost batch", () => {
  async function run(lines: string[], write?: (c: Customer[]) => Promise<void>) {
    const written: Customer[] = [];
    const report = await importRecords(readRecords(bytes(lines.join("\n")), { format: "jsonl" }), {
      config,
      batchSize: 10,
      write:
        write ??
        (async (batch) => {
          written.push(...batch);
        }),
    });
    return { report, written };
  }

  it("rejects a 600 KB record and 1e308 by line, and keeps the rest of the batch", async () => {
    const { report, written } = await run([
      '{"customerId":"A1","aum":100}',
      `{"customerId":"A2","name":"${"x".repeat(600_000)}"}`,
      '{"customerId":"A3","aum":1e308}',
      '{"customerId":"A4","aum":1e125}',
      '{"customerId":"A5","aum":"12000.005","tags":"vip|新客","riskTolerance":"c3","creditLine":"5,000,000"}',
    ]);
    expect(written.map((c) => c.customerId)).toEqual(["A1", "A5"]);
    expect(report.rejected.map((r) => r.line)).toEqual([2, 3, 4]);
    expect(report.rejected[0]!.error).toMatch(/name: longer than 200/);
    expect(report.rejected[1]!.error).toMatch(/aum: must be at most/);
    expect(written[1]).toMatchObject({
      aum: 12000.01,
      tags: ["vip", "新客"],
      riskTolerance: "C3",
      creditLine: 5e6,
    });
  });

  it("keeps a record at every field's length limit (the 400 KB check is on the real item)", async () => {
    const tags = Array.from({ length: 50 }, (_, i) => `${i}${"标".repeat(62)}`);
    const products = Array.from({ length: 100 }, (_, i) => `${i}${"品".repeat(62)}`);
    const { report } = await run([JSON.stringify({ customerId: "T1", tags, products })]);
    expect(report.rejected).toEqual([]);
    const { report: big } = await run([
      JSON.stringify({ customerId: "T2", name: "名".repeat(200), tags, products }),
    ]);
    expect(big.rejected).toEqual([]);
  });

  it("when the store refuses a batch, writes it row by row and reports only the refused row", async () => {
    const stored: string[] = [];
    const refusal = Object.assign(new Error("Item size has exceeded the maximum allowed size"), {
      name: "ValidationException",
    });
    const { report } = await run(
      ['{"customerId":"B1"}', '{"customerId":"B2"}', '{"customerId":"B3"}'],
      async (batch) => {
        if (batch.some((c) => c.customerId === "B2")) throw refusal;
        stored.push(...batch.map((c) => c.customerId));
      },
    );
    expect(stored).toEqual(["B1", "B3"]);
    expect(report).toEqual({
      imported: 2,
      rejected: [{ line: 2, error: expect.stringMatching(/store refused.*maximum allowed size/) }],
    });
  });
});

describe("encodings", () => {
  const csv = "customerId,name,aum\nC1,张伟,12000\nC2,王芳,300\nC3,欧阳娜娜,5000\n";

  it("detects GBK from its bytes and reads the Chinese names right", async () => {
    const gbk = iconv.encode(csv, "gbk");
    expect(sniffEncoding(gbk, true)).toBe("gb18030");
    const records = await collect(readRecords(bytes(gbk), { format: "csv" }));
    expect(records.map((r) => r.value?.name)).toEqual(["张伟", "王芳", "欧阳娜娜"]);
  });

  it("reads UTF-8 with and without a BOM", async () => {
    for (const text of [csv, `\uFEFF${csv}`]) {
      const records = await collect(readRecords(bytes(text), { format: "csv" }));
      expect(records.map((r) => r.value?.name)).toEqual(["张伟", "王芳", "欧阳娜娜"]);
    }
  });

  it("reads GBK across chunk boundaries that split a character", async () => {
    const gbk = iconv.encode(csv, "gbk");
    const parts = Array.from({ length: gbk.length }, (_, i) => gbk.subarray(i, i + 1));
    const records = await collect(readRecords(bytes(...parts), { format: "csv", encoding: "gb18030" }));
    expect(records.map((r) => r.value?.name)).toEqual(["张伟", "王芳", "欧阳娜娜"]);
  });

  it("refuses Big5 and Latin-1 rather than guessing, with a hint", () => {
    expect(() =>
      sniffEncoding(iconv.encode("customerId,name\nC1,張偉國際\nC2,陳美玲\n", "big5"), true),
    ).toThrow(/--encoding/);
    expect(() => sniffEncoding(iconv.encode("customerId,name\nC1,José Müller\n", "latin1"), true)).toThrow(
      EncodingError,
    );
  });

  it("refuses a file that mixes UTF-8 and GBK", () => {
    const mixed = Buffer.concat([
      Buffer.from("customerId,name\nC1,张伟\n"),
      iconv.encode("C2,王芳\n", "gbk"),
    ]);
    expect(() => sniffEncoding(mixed, true)).toThrow(/mixes UTF-8/);
  });

  it("rejects by line a GBK row in a file detected as UTF-8, never as mojibake", async () => {
    const head = `customerId,name\n${"C0,ascii\n".repeat(8000)}`; // > 64 KB of ASCII: the sniff says UTF-8
    const records = await collect(
      readRecords(bytes(head, iconv.encode("C9,王芳\n", "gbk")), { format: "csv" }),
    );
    const last = records.at(-1)!;
    expect(last).toMatchObject({ line: 8002, error: expect.stringMatching(/not UTF-8.*--encoding gbk/) });
  });

  it("keeps binary junk lines as rejected lines of a UTF-8 file", async () => {
    const junk = Buffer.from([0x00, 0xff, 0xfe, 0x01, 0x80]);
    const records = await collect(readRecords(bytes(junk, '\n{"customerId":"J1"}\n'), { format: "jsonl" }));
    expect(records.map((r) => [r.line, r.error ?? r.value?.customerId])).toEqual([
      [1, expect.stringMatching(/not UTF-8/)],
      [2, "J1"],
    ]);
  });

  it("gives every record the byte offset just past it, for a resume", async () => {
    const text = 'customerId,name\nC1,"多\n行"\nC2,b\n';
    const records = await collect(readRecords(bytes(text), { format: "csv" }));
    expect(records.map((r) => [r.line, r.end, r.next])).toEqual([
      [2, Buffer.byteLength('customerId,name\nC1,"多\n行"\n'), 4],
      [4, Buffer.byteLength(text), 5],
    ]);
    const resumed = await collect(
      readRecords(bytes(Buffer.from(text).subarray(records[0]!.end!)), {
        format: "csv",
        startOffset: records[0]!.end!,
        startLine: 4,
        header: ["customerId", "name"],
        encoding: "utf-8",
      }),
    );
    expect(resumed).toEqual([
      { line: 4, end: Buffer.byteLength(text), next: 5, value: { customerId: "C2", name: "b" } },
    ]);
  });
});

describe("xlsx", () => {
  async function workbook(sheets: Record<string, unknown[][]>) {
    const wb = new ExcelJS.Workbook();
    for (const [name, rows] of Object.entries(sheets)) {
      const ws = wb.addWorksheet(name);
      for (const r of rows) ws.addRow(r);
    }
    const buffer = Buffer.from(await wb.xlsx.writeBuffer());
    const stream = new PassThrough();
    stream.end(buffer);
    return stream;
  }

  it("reads the first sheet: Chinese text, numbers, dates", async () => {
    const stream = await workbook({
      客户: [
        ["customerId", "name", "aum", "phone", "openedAt"],
        ["X1", "张伟", 12000.5, 13800138000, new Date(Date.UTC(2026, 0, 5))],
        [],
        [1002, "王芳", 300, null, new Date(Date.UTC(2026, 0, 5, 9, 30))],
      ],
      其他: [["customerId"], ["NOPE"]],
    });
    const records: SourceRecord[] = await collect(readXlsx(stream));
    expect(records).toEqual([
      {
        line: 2,
        value: { customerId: "X1", name: "张伟", aum: 12000.5, phone: 13800138000, openedAt: "2026-01-05" },
      },
      { line: 4, value: { customerId: 1002, name: "王芳", aum: 300, openedAt: "2026-01-05T09:30:00+08:00" } },
    ]);
  });

  it("reads a named sheet, and names the sheets when it is missing", async () => {
    const sheets = { a: [["customerId"], ["A"]], b: [["customerId"], ["B"]] };
    expect((await collect(readXlsx(await workbook(sheets), { sheet: "b" }))).map((r) => r.value)).toEqual([
      { customerId: "B" },
    ]);
    await expect(collect(readXlsx(await workbook(sheets), { sheet: "c" }))).rejects.toThrow(
      /no sheet named "c" \(sheets: a, b\)/,
    );
  });

  it("refuses a file that is not a workbook", async () => {
    const stream = new PassThrough();
    stream.end(Buffer.from("customerId\nC1\n"));
    await expect(collect(readXlsx(stream))).rejects.toThrow(/cannot read the workbook/);
  });
});

describe("one CSV writer", () => {
  it("neutralizes formulas and quotes line breaks", () => {
    expect(csvCell("=cmd|'/c calc'!A1")).toBe("'=cmd|'/c calc'!A1");
    expect(csvCell("+1")).toBe("'+1");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("＝1+1")).toBe("'＝1+1");
    expect(csvCell("\t=1")).toBe("'\t=1");
    expect(csvRow(["a\nb", 'say "hi"', -0.5, "x,y"])).toBe('"a\nb","say ""hi""",-0.5,"x,y"\n');
  });
});

describe("logged errors", () => {
  it("carry name, message and stack, with PII masked", () => {
    const err = new TypeError("cannot send to 13800138000 or li@bank.example");
    const out = maskPii({ error: err }) as { error: { name: string; message: string; stack: string } };
    expect(out.error.name).toBe("TypeError");
    expect(out.error.message).toBe("cannot send to 138****8000 or ***@***");
    expect(out.error.stack).toMatch(/TypeError: cannot send to 138\*\*\*\*8000/);
    expect(out.error.stack).toMatch(/input-values\.test\.ts/);
    expect(JSON.stringify(out)).not.toMatch(/13800138000|li@bank/);
  });
});
