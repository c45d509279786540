import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, tempDir } from "../helpers.ts";

const AT = ["--at", "2027-03-01T02:00:00Z"];

describe("tiercast estimate and tiercast dry-run", () => {
  it("estimates with intervals, runs the exact dry run as a stored job, and shows it again by id", async () => {
    const dir = tempDir();
    const dataDir = join(dir, "data");
    const bank = join(dir, "bank.jsonl");
    expect((await cli(["generate", "--customers", "1500", "--out", bank, ...AT])).code).toBe(0);
    expect((await cli(["import", bank, "--json", ...AT], { dataDir })).code).toBe(0);
    const file = "examples/dormant-reactivation.json";

    const est = await cli(["estimate", file, "--sample-size", "200", "--json", ...AT], { dataDir });
    expect(est.code, est.stderr).toBe(0);
    const e = est.json() as {
      estimate: boolean;
      method: string;
      audience: { estimate: number; low: number; high: number };
    };
    expect(e).toMatchObject({ estimate: true, method: "sample" });

    const dry = await cli(["dry-run", file, "--json", ...AT], { dataDir });
    expect(dry.code, dry.stderr).toBe(0);
    const job = dry.json() as { jobId: string; status: string; result: { audience: number } };
    expect(job.status).toBe("done");
    expect(e.audience.low).toBeLessThanOrEqual(job.result.audience);
    expect(e.audience.high).toBeGreaterThanOrEqual(job.result.audience);
    const preview = await cli(["preview", file, "--json", ...AT], { dataDir });
    expect((preview.json() as { audience: number }).audience).toBe(job.result.audience);

    const shown = await cli(["dry-run", "--job", job.jobId, "--json"], { dataDir });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.json()).toMatchObject({ jobId: job.jobId, status: "done" });
    const text = await cli(["estimate", file, "--sample-size", "200", ...AT], { dataDir });
    expect(text.stdout).toMatch(/95% intervals/);

    expect((await cli(["dry-run", "--job", "no-such"], { dataDir })).code).toBe(1);
    expect((await cli(["dry-run"], { dataDir })).code).toBe(2);
    expect((await cli(["dry-run", file, "--campaign", "x"], { dataDir })).code).toBe(2);
    expect((await cli(["estimate", file, "--sample-size", "0"], { dataDir })).code).toBe(2);
  }, 300_000);
});
