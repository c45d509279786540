import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cli, tempDir } from "../helpers.ts";

const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

describe("tiercast usage, version and exit codes (CONTRACT.md additions)", () => {
  it("--version prints the package's version and exits 0", async () => {
    const result = await cli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(VERSION);
  });

  it("a usage error is one line on stderr with a hint, not the whole usage", async () => {
    const result = await cli(["funnel"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tiercast: missing required argument 'campaignId'/);
    expect(lines[0]).toContain("tiercast funnel --help");
  });

  it("an unknown command names the nearest one and points at the top-level help", async () => {
    const result = await cli(["lanch", "x.json"]);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/unknown command 'lanch'.*launch/);
    expect(lines[0]).toContain("tiercast --help");
  });

  it("with --json, a usage error is one JSON document on stdout", async () => {
    const result = await cli(["--json", "ledger", "c1", "--format", "xml"]);
    expect(result.code).toBe(2);
    expect(result.json()).toEqual({ error: "usage", message: expect.stringMatching(/--format/) });
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("with --json, the CLI's own usage checks answer with error usage too", async () => {
    const result = await cli(["--json", "simulate", "c1", "--seed", "-3"]);
    expect(result.code).toBe(2);
    expect(result.json()).toEqual({ error: "usage", message: expect.stringMatching(/--seed/) });
  });

  it("targets set reports every problem at once", async () => {
    const result = await cli(
      ["--json", "targets", "set", "c1", "--period", "2027Q5", "--stage", "clicked", "--value", "0"],
      { dataDir: tempDir() },
    );
    expect(result.code).toBe(2);
    const out = result.json() as { error: string; problems: string[] };
    expect(out.error).toBe("bad_input");
    expect(out.problems).toEqual([
      expect.stringMatching(/^period/),
      expect.stringMatching(/^stage/),
      expect.stringMatching(/value/),
    ]);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("salon on an event no campaign invites to fails with exit 1", async () => {
    const result = await cli(["--json", "salon", "no-such-event"], { dataDir: tempDir() });
    expect(result.code).toBe(1);
    expect(result.json()).toMatchObject({
      error: "not_found",
      message: expect.stringMatching(/no-such-event/),
    });
  });
});
