import { writeFileSync } from "node:fs";
import { join } from "node:path";
import ExcelJS from "exceljs";
import iconv from "iconv-lite";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCsv } from "#functions/import/parse.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";
import { type CliResult, chunksOf, cli, collect, tempDir } from "../helpers.ts";

/**
 * The bad-input corpus through the CLI door: values the store cannot hold, bank encodings and
 * workbooks, impossible dates, hostile CSV cells. Each case asserts the exit code, a one-line
 * message without a stack, and what is stored afterwards.
 */
const dir = tempDir();
const dataDir = join(dir, "data");
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const run = (args: string[]) => cli(args, { dataDir });

function expectCleanFailure(result: CliResult, code: number, pattern: RegExp) {
  expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

async function stored(customerId: string) {
  const result = await run(["customers", "show", customerId, "--json"]);
  return result.code === 0 ? (result.json() as Record<string, unknown>) : undefined;
}

const names = "customerId,name,aum,branchId\nGB1,张伟,12000,BR1\nGB2,欧阳娜娜,300,BR1\nGB3,王芳,60000,BR2\n";

describe("bad values through the CLI: rejected by line, nothing valid lost", () => {
  beforeAll(async () => {
    const good = file("good.jsonl", '{"customerId":"KEEP","aum":400000}\n');
    expect((await run(["import", good, "--json"])).code).toBe(0);
  });

  it("rejects a 600 KB record and numbers out of range by line, keeping the batch's valid rows", async () => {
    const jsonl = file(
      "values.jsonl",
      [
        '{"customerId":"V1","aum":100}',
        `{"customerId":"V2","name":"${"x".repeat(600_000)}"}`,
        '{"customerId":"V3","aum":1e308}',
        '{"customerId":"V4","familyAum":1e-200}',
        '{"customerId":"V5","aum":12000.005,"tags":["vip","新客"],"riskTolerance":"C4","products":["FX01"]}',
      ].join("\n"),
    );
    const result = await run(["import", jsonl, "--json"]);
    expect(result.code).toBe(0);
    expect(result.json()).toEqual({
      imported: 3,
      rejected: [
        { line: 2, error: expect.stringMatching(/name: longer than 200 characters/) },
        { line: 3, error: expect.stringMatching(/aum: must be at most/) },
      ],
    });
    expect(await stored("V2")).toBeUndefined();
    expect(await stored("V3")).toBeUndefined();
    expect(await stored("V4")).toMatchObject({ familyAum: 0 });
    expect(await stored("V5")).toMatchObject({
      aum: 12000.01,
      tags: ["vip", "新客"],
      riskTolerance: "C4",
      products: ["FX01"],
    });
  });

  it("takes tags as |-separated in a CSV", async () => {
    const csv = file("tags.csv", "customerId,tags,creditLine\nTG1,vip|新客| 高净值 ,80000000\n");
    expect((await run(["import", csv, "--json"])).json()).toEqual({ imported: 1, rejected: [] });
    expect(await stored("TG1")).toMatchObject({ tags: ["vip", "新客", "高净值"], creditLine: 80_000_000 });
  });

  it("imports a GBK CSV (detected, or --encoding gbk) with the right Chinese names", async () => {
    const gbk = file("gbk.csv", iconv.encode(names, "gbk"));
    expect((await run(["import", gbk, "--json"])).json()).toEqual({ imported: 3, rejected: [] });
    expect((await stored("GB2"))?.name).toBe("欧阳娜娜");
    const told = file("gbk2.csv", iconv.encode(names.replaceAll("GB", "GX"), "gb18030"));
    expect((await run(["import", told, "--encoding", "gbk", "--json"])).json()).toEqual({
      imported: 3,
      rejected: [],
    });
    expect((await stored("GX1"))?.name).toBe("张伟");
  });

  it("refuses a doubtful encoding with a hint, storing nothing", async () => {
    const big5 = file("big5.csv", iconv.encode("customerId,name\nB51,張偉國際\nB52,陳美玲\n", "big5"));
    expectCleanFailure(await run(["import", big5]), 2, /cannot tell the file's encoding.*--encoding/);
    expect(await stored("B51")).toBeUndefined();
    expectCleanFailure(
      await run(["import", big5, "--encoding", "klingon"]),
      2,
      /unknown or unsupported encoding/,
    );
    // Told it is GBK, a Big5 file still cannot turn into mojibake silently: its rows fail or read as GBK text.
    const utf16 = file(
      "u16.csv",
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("customerId\r\n", "utf16le")]),
    );
    expectCleanFailure(await run(["import", utf16]), 2, /UTF-16/);
  });

  it("imports the first sheet of an .xlsx, or the one named by --sheet", async () => {
    const wb = new ExcelJS.Workbook();
    const first = wb.addWorksheet("客户名单");
    first.addRow(["customerId", "name", "aum", "phone", "consentSms", "openedAt"]);
    first.addRow(["XL1", "李娜", 60000, 13800138001, true, new Date(Date.UTC(2020, 4, 17))]);
    first.addRow(["XL2", "赵强", "abc", null, false, null]);
    const second = wb.addWorksheet("对公");
    second.addRow(["customerId", "kind", "name", "aum"]);
    second.addRow(["XC1", "corporate", "华信科技有限公司", 250_000_000]);
    const xlsx = join(dir, "bank.xlsx");
    await wb.xlsx.writeFile(xlsx);

    expect((await run(["import", xlsx, "--json"])).json()).toEqual({
      imported: 1,
      rejected: [{ line: 3, error: expect.stringMatching(/aum/) }],
    });
    expect(await stored("XL1")).toMatchObject({
      name: "李娜",
      phone: "+8613800138001",
      tier: "quality",
      consentSms: true,
      openedAt: "2020-05-17",
    });
    expect((await run(["import", xlsx, "--sheet", "对公", "--json"])).json()).toEqual({
      imported: 1,
      rejected: [],
    });
    expect(await stored("XC1")).toMatchObject({ name: "华信科技有限公司", tier: "class1" });
    expectCleanFailure(
      await run(["import", xlsx, "--sheet", "nope"]),
      2,
      /no sheet named "nope" \(sheets: 客户名单, 对公\)/,
    );
    expectCleanFailure(await run(["import", file("fake.xlsx", "not a zip")]), 2, /cannot read the workbook/);
  });

  it("rejects an event's impossible date or unstorable amount by line and ingests the rest", async () => {
    const events = file(
      "events.jsonl",
      [
        '{"eventId":"ev1","type":"deposit","customerId":"KEEP","at":"2027-03-01T10:00:00+08:00","amount":500}',
        '{"eventId":"ev2","type":"deposit","customerId":"KEEP","at":"2027-02-30T10:00:00Z","amount":500}',
        '{"eventId":"ev3","type":"deposit","customerId":"KEEP","at":"2027-03-01T10:00:00Z","amount":1e308}',
        '{"eventId":"ev4","type":"transaction","customerId":"KEEP","at":"2027-03-01T24:00:00Z"}',
      ].join("\n"),
    );
    const result = await run(["events", "ingest", events, "--json"]);
    expect(result.code).toBe(0);
    expect(result.json()).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: [
        { line: 2, error: expect.stringMatching(/^at:/) },
        { line: 3, error: expect.stringMatching(/^amount:/) },
        { line: 4, error: expect.stringMatching(/^at:/) },
      ],
    });
    const gbkEvents = file(
      "events.csv",
      iconv.encode("eventId,type,customerId,at,text\nev5,replied,KEEP,2027-03-01T10:00:00Z,退订\n", "gbk"),
    );
    expect((await run(["events", "ingest", gbkEvents, "--json"])).json()).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: [],
    });
  });

  it("refuses a day that does not exist in --at and in campaign fields", async () => {
    expectCleanFailure(await run(["tiers", "--at", "2027-02-30T10:00:00Z"]), 2, /--at: .*day that exists/);
    expectCleanFailure(await run(["tiers", "--at", "2027-02-29"]), 2, /--at/);
    const salon = file(
      "salon.json",
      JSON.stringify({
        campaignId: "salon-bad",
        playbook: "salon-invite",
        segment: { scheme: "retail", tiers: ["key"] },
        variants: [{ id: "A", tiers: ["key"], channel: "sms", template: "{{eventName}}" }],
        event: {
          eventId: "s1",
          startsAt: "2027-02-30T19:00:00+08:00",
          capacity: 1e308,
          waves: [{ tiers: ["key"], at: "2027-02-29T10:00:00+08:00" }],
        },
      }),
    );
    const result = await run(["preview", salon, "--json"]);
    expectCleanFailure(result, 2, /event\.startsAt.*event\.capacity|event\.capacity.*event\.startsAt/);
    expect((result.json() as { problems: string[] }).problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^event\.startsAt:/),
        expect.stringMatching(/^event\.waves\.0\.at:/),
        expect.stringMatching(/^event\.capacity:/),
      ]),
    );
    const referral = file(
      "referral.json",
      JSON.stringify({
        ...dormantCampaign({ campaignId: "ref-bad" }),
        playbook: "referral-drive",
        referral: { minDeposit: 1e308, reward: "礼品" },
      }),
    );
    expectCleanFailure(await run(["preview", referral]), 2, /referral\.minDeposit/);
  });

  it("writes the uncontactable list as safe CSV: formulas neutralized, line breaks quoted", async () => {
    const hostile = file(
      "hostile.jsonl",
      `${JSON.stringify({ customerId: "EVIL1", branchId: "=cmd|'/c calc'!A1", rmId: "RM\nX,Y", aum: 1 })}\n`,
    );
    expect((await run(["import", hostile, "--json"])).json()).toEqual({ imported: 1, rejected: [] });
    const result = await run(["uncontactable", "--format", "csv"]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/^=|,=/m);
    const rows = await collect(parseCsv(chunksOf(result.stdout, 100)));
    const evil = rows.find((r) => r.value?.customerId === "EVIL1");
    expect(evil?.value).toEqual({
      customerId: "EVIL1",
      branchId: "'=cmd|'/c calc'!A1",
      rmId: "RM\nX,Y",
      tier: "mass",
      phone: "missing",
      email: "missing",
      lostContact: "true",
    });
    expect(rows.every((r) => !r.error)).toBe(true);
  });

  it("keeps what was stored before every refusal", async () => {
    expect(await stored("KEEP")).toMatchObject({ aum: 400000, tier: "key" });
  });
});
