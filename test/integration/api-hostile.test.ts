import { request } from "node:http";
import ExcelJS from "exceljs";
import iconv from "iconv-lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "#functions/access/users.ts";
import { API_ROUTES } from "#functions/api/router.ts";
import { getCustomer } from "#functions/customers/store.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { dormantCampaign } from "../fixtures/campaigns.ts";
import { localBank, setClock } from "./bank.ts";

const AT = "2027-03-01T02:00:00.000Z";
let runtime: Runtime;
let server: LocalServer;
let admin = "";
let marketer = "";

/** Raw HTTP (no URL normalisation, any bytes): what a hostile client can really send. */
function raw(method: string, path: string, token?: string, body?: string | Buffer) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const url = new URL(server.url);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { "content-length": Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const HOSTILE_IDS = [
  "%ZZ",
  "%E4%BD",
  encodeURIComponent("令牌令牌"),
  "x".repeat(3000),
  "%00",
  "a%23b",
  "..%2F..%2Fetc",
  encodeURIComponent("=cmd|'/c calc'!A1"),
];
const HOSTILE_QUERIES = [
  `customer=${"x".repeat(3000)}`,
  "customer=%ZZ",
  `customer=${encodeURIComponent("客户\u0000")}`,
  "cursor=99999999999999999999:zzz",
  "cursor=-1:",
  "cursor=abc",
  "limit=1e308",
  "limit=-1",
  "format=csv",
  "format=xml",
  `branch=${"b".repeat(3000)}`,
  "lostOnly=maybe",
  "encoding=klingon",
  "sheet=nope",
  `${"k".repeat(5000)}=v`,
];
const HOSTILE_BODIES: (string | Buffer)[] = [
  "{",
  "[]",
  "null",
  '"text"',
  '{"campaignId":1e308}',
  '{"campaignId":"x","referral":{"minDeposit":1e308,"reward":"r"}}',
  '{"customerId":"H1","aum":1e308}',
  '{"eventId":"e","type":"deposit","customerId":"c","at":"2027-02-30T00:00:00Z","amount":1e308}',
  "[".repeat(20_000),
  `{"a":"${"x".repeat(700_000)}"}`,
  Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x0a, 0xc3]),
  iconv.encode("customerId,name\nGBK1,张伟\n", "gbk"),
];

describe("the HTTP layer never answers 5xx to client input", () => {
  beforeAll(async () => {
    runtime = await localBank(300, new Date("2027-02-28T00:00:00Z"), {
      tracking: { baseUrl: "http://127.0.0.1" },
    });
    setClock(runtime, AT);
    server = await startServe(runtime, { schedulerMs: 0, webDir: false });
    admin = (await addUser(runtime.repo, { userId: "root", role: "admin" }, new Date(AT))).token;
    marketer = (await addUser(runtime.repo, { userId: "mia", role: "marketer" }, new Date(AT))).token;
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  it("throws hostile paths, queries and bodies at every route of the router", async () => {
    const failures: string[] = [];
    let tried = 0;
    const check = async (method: string, path: string, body?: string | Buffer) => {
      tried++;
      const res = await raw(method, path, admin, body);
      if (res.status >= 500)
        failures.push(`${method} ${path.slice(0, 80)} → ${res.status} ${res.text.slice(0, 120)}`);
      if (res.status >= 400 && path.startsWith("/api/")) {
        const parsed = JSON.parse(res.text) as { error?: string; message?: string };
        if (!parsed.error || !parsed.message || /\n\s+at /.test(parsed.message))
          failures.push(`${method} ${path.slice(0, 80)}: not a clean JSON error: ${res.text.slice(0, 120)}`);
      }
    };
    for (const r of API_ROUTES) {
      const paths = r.path.includes("{") ? HOSTILE_IDS.map((id) => r.path.replace(/\{\w+\}/g, id)) : [r.path];
      const takesBody = r.method !== "GET" && r.method !== "DELETE";
      for (const path of paths) await check(r.method, path, takesBody ? "{}" : undefined);
      const plain = r.path.replace(/\{\w+\}/g, "x");
      for (const q of HOSTILE_QUERIES) await check(r.method, `${plain}?${q}`, takesBody ? "{}" : undefined);
      if (takesBody) for (const body of HOSTILE_BODIES) await check(r.method, plain, body);
    }
    for (const path of [
      `/t/c/${encodeURIComponent("令牌令牌令牌令牌.签名签名签名签名签名签名签名签名")}`,
      "/t/c/%ZZ",
      `/t/c/${"A".repeat(5000)}.${"B".repeat(16)}`,
      `/t/o/${encodeURIComponent("令牌")}.gif`,
      `/u?c=x&r=y&t=${encodeURIComponent("令".repeat(22))}`,
      `/u?c=${"x".repeat(3000)}&r=y&t=${"t".repeat(22)}`,
      "/u?c=%ZZ&r=%ZZ&t=%ZZ",
    ])
      await check("GET", path);
    for (const body of HOSTILE_BODIES) await check("POST", "/hooks/sms", body);
    expect(failures).toEqual([]);
    expect(tried).toBeGreaterThan(500);
  }, 600_000);

  it("answers 400 with a message for bad percent-encoding and overlong ids", async () => {
    const bad = await raw("GET", "/api/campaigns/%ZZ", admin);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).message).toMatch(/campaignId: bad percent-encoding/);
    const long = await raw("GET", `/api/campaigns/x/ledger?customer=${"x".repeat(3000)}`, admin);
    expect(long.status).toBe(400);
    expect(JSON.parse(long.text).message).toMatch(/customer: longer than/);
  });

  it("answers 413, not 400, to a 10 MB campaign body, and stores nothing", async () => {
    const campaign = {
      ...dormantCampaign({ campaignId: "too-big" }),
      name: "x",
      pad: "y".repeat(10 * 1024 * 1024),
    };
    const res = await raw("POST", "/api/campaigns", marketer, JSON.stringify(campaign));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({ error: "too_large" });
    expect((await raw("GET", "/api/campaigns/too-big", admin)).status).toBe(404);
  });

  it("counts a JSON body's limit in bytes: 3 M Chinese characters (9 MB) is 413, not a cut", async () => {
    const campaign = { ...dormantCampaign({ campaignId: "cjk-big" }), name: "名".repeat(3_000_000) };
    const res = await raw("POST", "/api/campaigns", marketer, JSON.stringify(campaign));
    expect(res.status).toBe(413);
  });

  it("imports a 12.7 MB body whole: every valid row kept, every bad line reported", async () => {
    const rows: string[] = [];
    for (let i = 1; i <= 40_000; i++)
      rows.push(
        JSON.stringify({
          customerId: `BIG${i}`,
          name: `欧阳${"娜".repeat(20)}${i}`,
          aum: i % 1000 === 0 ? 1e308 : 1000 + i,
          branchId: "BR-BIG",
          tags: ["批量", "导入测试", "夜间导出"],
          email: `big${i}@bank.example`,
          phone: `138${String(i).padStart(8, "0")}`,
          openedAt: i === 39_999 ? "2027-02-30" : "2020-01-01",
          pad: "填".repeat(60),
        }),
      );
    const body = rows.join("\n");
    expect(Buffer.byteLength(body)).toBeGreaterThan(12 * 1024 * 1024);
    const res = await raw("POST", "/api/customers/import", marketer, body);
    expect(res.status).toBe(200);
    const report = JSON.parse(res.text) as { imported: number; rejected: { line: number }[] };
    const expectedBad = [...Array.from({ length: 40 }, (_, k) => (k + 1) * 1000), 39_999].sort(
      (a, b) => a - b,
    );
    expect(report.rejected.map((r) => r.line)).toEqual(expectedBad);
    expect(report.imported).toBe(40_000 - expectedBad.length);
    expect(await getCustomer(runtime.repo, "BIG39998")).toMatchObject({
      name: `欧阳${"娜".repeat(20)}39998`,
    });
    expect(await getCustomer(runtime.repo, "BIG40000")).toBeUndefined();
  }, 300_000);

  it("imports a GBK CSV and an .xlsx body with the right names", async () => {
    const gbk = iconv.encode("customerId,name,aum\nAG1,张伟,100\nAG2,王芳,200\n", "gbk");
    const csv = await raw("POST", "/api/customers/import?format=csv", marketer, gbk);
    expect(JSON.parse(csv.text)).toEqual({ imported: 2, rejected: [] });
    expect((await getCustomer(runtime.repo, "AG2"))?.name).toBe("王芳");

    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet("名单");
    ws.addRow(["customerId", "name", "aum"]);
    ws.addRow(["AX1", "李娜", 60000]);
    const xlsx = Buffer.from(await wb.xlsx.writeBuffer());
    const res = await raw("POST", "/api/customers/import?format=xlsx", marketer, xlsx);
    expect(JSON.parse(res.text)).toEqual({ imported: 1, rejected: [] });
    expect((await getCustomer(runtime.repo, "AX1"))?.name).toBe("李娜");

    const big5 = iconv.encode("customerId,name\nB1,張偉國際\n", "big5");
    const refused = await raw("POST", "/api/customers/import?format=csv", marketer, big5);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text)).toMatchObject({
      error: "bad_encoding",
      message: expect.stringMatching(/encoding/),
    });
    expect(await getCustomer(runtime.repo, "B1")).toBeUndefined();
  });

  it("the bad-values corpus through the API door: rejected by line or field, nothing valid lost", async () => {
    const body = [
      '{"customerId":"AP1","aum":100}',
      `{"customerId":"AP2","name":"${"x".repeat(600_000)}"}`,
      '{"customerId":"AP3","aum":1e308}',
      '{"customerId":"AP4","birthday":"2027-02-30"}',
      '{"customerId":"AP5","tags":["vip"],"riskTolerance":"C9"}',
      '{"customerId":"AP6","aum":"12,000.50","tags":["vip"],"riskTolerance":"c2"}',
    ].join("\n");
    const imported = await raw("POST", "/api/customers/import", marketer, body);
    expect(imported.status).toBe(200);
    expect(JSON.parse(imported.text)).toEqual({
      imported: 2,
      rejected: [
        { line: 2, error: expect.stringMatching(/name: longer than 200/) },
        { line: 3, error: expect.stringMatching(/aum: must be at most/) },
        { line: 4, error: expect.stringMatching(/birthday: must be a date YYYY-MM-DD that exists/) },
        { line: 5, error: expect.stringMatching(/riskTolerance/) },
      ],
    });
    expect(await getCustomer(runtime.repo, "AP6")).toMatchObject({
      aum: 12000.5,
      riskTolerance: "C2",
      tags: ["vip"],
    });
    for (const id of ["AP2", "AP3", "AP4", "AP5"])
      expect(await getCustomer(runtime.repo, id)).toBeUndefined();

    const events = [
      '{"eventId":"apE1","type":"deposit","customerId":"AP1","at":"2027-03-01T10:00:00+08:00","amount":100}',
      '{"eventId":"apE2","type":"deposit","customerId":"AP1","at":"2027-03-01T10:00:00Z","amount":1e308}',
      '{"eventId":"apE3","type":"deposit","customerId":"AP1","at":"2027-02-30T10:00:00Z"}',
    ].join("\n");
    const ingested = await raw("POST", "/api/events", admin, events);
    expect(JSON.parse(ingested.text)).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: [
        { line: 2, error: expect.stringMatching(/^amount:/) },
        { line: 3, error: expect.stringMatching(/^at:/) },
      ],
    });

    const salon = {
      campaignId: "salon-bad",
      playbook: "salon-invite",
      segment: { scheme: "retail", tiers: ["key"] },
      variants: [{ id: "A", tiers: ["key"], channel: "sms", template: "{{eventName}}" }],
      event: { eventId: "s1", startsAt: "2027-02-30T19:00:00+08:00", capacity: 10, waves: [] },
      referral: { minDeposit: 1e308, reward: "r" },
    };
    const refused = await raw("POST", "/api/campaigns", marketer, JSON.stringify(salon));
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^event\.startsAt:/),
        expect.stringMatching(/^referral\.minDeposit:/),
      ]),
    );
    expect((await raw("GET", "/api/campaigns/salon-bad", admin)).status).toBe(404);
  });
});
