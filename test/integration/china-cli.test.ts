import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { receiptToken } from "#functions/receipts/vendor.ts";
import { cli, tempDir } from "../helpers.ts";

// `tiercast launch` / `serve` / `demo` send SMS through the vendor SMS_PROVIDER names: the worker's real
// adapter signs each request and the local gateway of that vendor verifies it before the sink logs it.
const AT = "2027-03-01T02:00:00Z"; // 10:00 Asia/Shanghai
const CODES: Record<string, string> = { W: "SMS_460725001", A: "SMS_460725002", B: "SMS_460725003" };

interface SinkLine {
  messageId: string;
  text: string;
  tag: string;
}

describe.each([
  ["aliyun", /^\d+\^0$/],
  ["tencent", /^2433:\d+$/],
])("SMS_PROVIDER=%s on the CLI", (provider, messageId) => {
  let dir: string;
  let bank: string;
  const env = { SMS_PROVIDER: provider, SMS_APP_ID: "1400123456" };
  beforeAll(async () => {
    dir = tempDir();
    bank = join(dir, "bank.jsonl");
    const generated = await cli(["generate", "--customers", "200", "--seed", "3", "--out", bank, "--at", AT]);
    expect(generated.code, generated.stderr).toBe(0);
  }, 120_000);

  it("launch refuses SMS variants without their registered template codes (exit 2, each named)", {
    timeout: 120_000,
  }, async () => {
    const dataDir = join(dir, "refused");
    expect((await cli(["import", bank], { dataDir, env })).code).toBe(0);
    const out = await cli(["launch", "examples/dormant-reactivation.json", "--at", AT], { dataDir, env });
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(/variants\.0\.smsTemplateCode: required: SMS goes through/);
  });

  it("launch sends every SMS through the vendor's verifying gateway, as the vendor's template", {
    timeout: 240_000,
  }, async () => {
    const dataDir = join(dir, "sent");
    expect((await cli(["import", bank], { dataDir, env })).code).toBe(0);
    const raw = JSON.parse(readFileSync("examples/dormant-reactivation.json", "utf8")) as {
      variants: { id: string }[];
    };
    const file = join(dir, "campaign.json");
    writeFileSync(
      file,
      JSON.stringify({ ...raw, variants: raw.variants.map((v) => ({ ...v, smsTemplateCode: CODES[v.id] })) }),
    );
    const out = await cli(["launch", file, "--at", AT, "--json"], { dataDir, env });
    expect(out.code, out.stderr).toBe(0);
    const summary = out.json() as { sent: number; failed: number };
    expect(summary.sent).toBeGreaterThan(0);
    expect(summary.failed).toBe(0);
    const lines = readFileSync(join(dataDir, "sms-sink.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SinkLine);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      // The vendor's id (Aliyun BizId, Tencent SerialNo) and the vendor's copy of the template.
      expect(line.messageId).toMatch(messageId);
      expect(line.text).toMatch(/^【Tiercast银行】SMS_46072500[123] /);
      expect(line.tag).not.toBe("");
    }
  });

  it("serve says which vendor's gateway SMS goes through", { timeout: 120_000 }, async () => {
    const dataDir = join(dir, "serve");
    const { spawn } = await import("node:child_process");
    const child = spawn(
      process.execPath,
      ["bin/tiercast.mjs", "--data-dir", dataDir, "serve", "--port", "0"],
      { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 100_000);
        child.stderr.on("data", (d: Buffer) => {
          stderr += d;
          if (/SMS goes through/.test(stderr)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on("exit", () => reject(new Error(`serve exited: ${stderr}`)));
      });
    } finally {
      child.kill("SIGTERM");
    }
    expect(stderr).toMatch(
      new RegExp(`SMS goes through the local ${provider} gateway at http://127\\.0\\.0\\.1:\\d+`),
    );
  });
});

describe("sms receipt-urls", () => {
  it("prints the vendors' callback URLs with this deployment's tokens; a bad --base is a usage error", async () => {
    const dataDir = join(tempDir(), "d");
    const out = await cli(["sms", "receipt-urls", "--base", "https://go.bank.example/", "--json"], {
      dataDir,
    });
    expect(out.code, out.stderr).toBe(0);
    const secret = readFileSync(join(dataDir, "secret"), "utf8").trim();
    expect(out.json()).toEqual({
      aliyun: `https://go.bank.example/hooks/sms/aliyun?token=${receiptToken(secret, "aliyun")}`,
      tencent: `https://go.bank.example/hooks/sms/tencent?token=${receiptToken(secret, "tencent")}`,
    });
    const bad = await cli(["sms", "receipt-urls", "--base", "go.bank.example"], { dataDir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--base: not a URL/);
  });
});

describe("SMS_PROVIDER on the embedded runtime", () => {
  it("demo runs its whole story through Tencent's gateway (each variant and the RSVP reminder given a code)", {
    timeout: 300_000,
  }, async () => {
    const dataDir = tempDir();
    const out = await cli(["demo", "--customers", "800"], {
      dataDir,
      env: { SMS_PROVIDER: "tencent" },
      timeoutMs: 280_000,
    });
    expect(out.code, out.stderr.slice(-2000)).toBe(0);
    const lines = readFileSync(join(dataDir, "demo", "sms-sink.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const r = JSON.parse(line) as SinkLine;
      expect(r.messageId).toMatch(/^2433:\d+$/);
      expect(r.text).toMatch(/^【Tiercast银行】SMS_DEMO_/);
    }
  });

  it("refuses aws (no End User Messaging stand-in), saying what it takes (exit 2)", async () => {
    const out = await cli(["ledger", "nothing"], {
      dataDir: join(tempDir(), "d"),
      env: { SMS_PROVIDER: "aws" },
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/SMS_PROVIDER=aws .* use http \(the local gateway\), aliyun or tencent/);
  });
});
