import { describe, expect, it } from "vitest";
import type { Customer } from "#functions/customers/record.ts";
import { importRecords } from "#functions/import/core.ts";
import { parseCsv, parseJsonl } from "#functions/import/parse.ts";
import { parseConfig } from "#platform/config.ts";
import { chunksOf, collect } from "../helpers.ts";

describe("CSV", () => {
  const csv =
    '\uFEFFcustomerId,name,aum,phone\r\nC1,王伟,"12,000.50",13800138000\r\nC2,"李 ""小"" 明",60000,\r\nC3,"多行\r\n名字",1,\r\n';

  it.each([1, 2, 3, 7, 1000])(
    "parses BOM, CRLF, quoted commas, doubled quotes and embedded newlines (chunk %d)",
    async (size) => {
      const records = await collect(parseCsv(chunksOf(csv, size)));
      expect(records).toEqual([
        { line: 2, value: { customerId: "C1", name: "王伟", aum: "12,000.50", phone: "13800138000" } },
        { line: 3, value: { customerId: "C2", name: '李 "小" 明', aum: "60000", phone: "" } },
        { line: 4, value: { customerId: "C3", name: "多行\r\n名字", aum: "1", phone: "" } },
      ]);
    },
  );

  it("reports a record with the wrong number of fields by its line", async () => {
    const records = await collect(parseCsv(chunksOf("customerId,aum\nC1,1\nC2,2,3\nC3,3\n", 5)));
    expect(records.map((r) => [r.line, r.error ?? "ok"])).toEqual([
      [2, "ok"],
      [3, "expected 2 fields, found 3"],
      [4, "ok"],
    ]);
  });

  it("reports an unterminated quote instead of swallowing the file", async () => {
    const records = await collect(parseCsv(chunksOf('customerId,aum\nC1,"1\nC2,2\n', 4)));
    expect(records).toEqual([{ line: 2, error: "unterminated quoted field" }]);
  });

  it("handles a last line without a newline and LF-only files", async () => {
    const records = await collect(parseCsv(chunksOf("customerId,aum\nC1,1", 3)));
    expect(records).toEqual([{ line: 2, value: { customerId: "C1", aum: "1" } }]);
  });
});

describe("JSONL", () => {
  it("numbers lines physically, skipping blanks, accepting CRLF and a BOM", async () => {
    const text = '\uFEFF{"customerId":"a"}\r\n\r\n{broken\n[1]\n{"customerId":"b"}';
    const records = await collect(parseJsonl(chunksOf(text, 4)));
    expect(records).toEqual([
      { line: 1, value: { customerId: "a" } },
      { line: 3, error: "invalid JSON" },
      { line: 4, error: "expected a JSON object" },
      { line: 5, value: { customerId: "b" } },
    ]);
  });
});

describe("import", () => {
  const config = parseConfig({});
  async function run(jsonl: string) {
    const written: Customer[] = [];
    const report = await importRecords(parseJsonl(chunksOf(jsonl, 64)), {
      config,
      batchSize: 2,
      write: async (batch) => {
        written.push(...batch);
      },
    });
    return { report, written };
  }

  it("keeps valid rows and rejects each bad row by line with the reason", async () => {
    const { report, written } = await run(
      [
        '{"customerId":"C1","aum":10000,"phone":"bad","email":"bad"}',
        '{"aum":5}',
        '{"customerId":"C3","aum":-1}',
        '{"customerId":"C4","aum":"lots"}',
        '{"customerId":"C5","lastTransactionAt":"2026-02-30T00:00:00Z"}',
        '{"customerId":"C6","kind":"alien"}',
        '{"customerId":"C7","aum":50000,"unknownField":true,"cardTier":"GOLD"}',
      ].join("\n"),
    );
    expect(report.imported).toBe(2);
    expect(written.map((c) => [c.customerId, c.tier])).toEqual([
      ["C1", "potential"],
      ["C7", "quality"],
    ]);
    expect(report.rejected.map((r) => r.line)).toEqual([2, 3, 4, 5, 6]);
    expect(report.rejected[0]!.error).toMatch(/customerId/);
    expect(report.rejected[1]!.error).toMatch(/aum: must be a non-negative number/);
    expect(report.rejected[2]!.error).toMatch(/aum/);
    expect(report.rejected[3]!.error).toMatch(/lastTransactionAt/);
    expect(report.rejected[4]!.error).toMatch(/kind/);
  });

  it("reads CSV booleans and numbers", async () => {
    const written: Customer[] = [];
    await importRecords(parseCsv(chunksOf("customerId,aum,consentSms,riskFlag\nC1,300000,是,false\n", 8)), {
      config,
      write: async (b) => {
        written.push(...b);
      },
    });
    expect(written[0]).toMatchObject({ customerId: "C1", tier: "key", consentSms: true, riskFlag: false });
  });
});
