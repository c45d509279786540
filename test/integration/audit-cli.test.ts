import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { startRuntime } from "#local/runtime.ts";
import { parseConfig } from "#platform/config.ts";
import { cli, tempDir } from "../helpers.ts";

const AT = ["--at", "2027-03-01T02:00:00Z"];
const OPERATOR = `operator@${hostname()}`;

interface Trail {
  entries: { seq: number; action: string; actor: { userId: string }; before?: unknown; after?: unknown }[];
  intact: boolean;
}

describe("the CLI's actions are audited like the API's, and `tiercast audit verify` checks them", () => {
  it("audits import, launch (to launched), targets, schedules, forget and users as the local operator; verify fails once a trail is cut", async () => {
    const dir = tempDir();
    const dataDir = join(dir, "data");
    const bank = join(dir, "bank.jsonl");
    expect((await cli(["generate", "--customers", "300", "--out", bank, ...AT])).code).toBe(0);
    expect((await cli(["import", bank, "--json", ...AT], { dataDir })).code).toBe(0);
    const launch = await cli(["launch", "examples/dormant-reactivation.json", "--json", ...AT], { dataDir });
    expect(launch.code, launch.stderr).toBe(0);
    const target = [
      "targets",
      "set",
      "dormant-2027q1",
      "--period",
      "2027Q1",
      "--stage",
      "sent",
      "--value",
      "5",
    ];
    expect((await cli([...target, "--json", ...AT], { dataDir })).code).toBe(0);
    const schedule = ["schedule", "set", "monthly", "--campaign", "dormant-2027q1", "--cron", "0 10 1 * *"];
    expect((await cli([...schedule, "--json", ...AT], { dataDir })).code).toBe(0);
    const customer = JSON.parse(readFileSync(bank, "utf8").split("\n")[0]!) as { customerId: string };
    expect((await cli(["customers", "forget", customer.customerId, "--json", ...AT], { dataDir })).code).toBe(
      0,
    );
    expect(
      (await cli(["users", "add", "mia", "--role", "marketer", "--json", ...AT], { dataDir })).code,
    ).toBe(0);

    const show = async (entity: string, id: string) =>
      (await cli(["audit", "show", entity, id, "--json"], { dataDir })).json() as Trail;
    const campaign = await show("campaign", "dormant-2027q1");
    expect(campaign.entries.map((e) => e.action)).toEqual(["create", "launch", "launched"]);
    expect(campaign.entries.map((e) => e.actor.userId)).toEqual([OPERATOR, OPERATOR, "launch-workflow"]);
    expect(campaign.entries[2]).toMatchObject({
      before: { status: "launching" },
      after: { status: "launched" },
    });
    for (const [entity, id, action] of [
      ["import", "2027-03-01", "import"],
      ["target", "dormant-2027q1", "set"],
      ["schedule", "monthly", "save"],
      ["customer", customer.customerId, "forget"],
      ["user", "mia", "add"],
    ] as const) {
      const trail = await show(entity, id);
      expect(
        trail.entries.map((e) => [e.action, e.actor.userId]),
        `${entity} ${id}`,
      ).toEqual([[action, OPERATOR]]);
    }

    const verified = await cli(["audit", "verify", "--json"], { dataDir });
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.json()).toEqual({ intact: true, entries: 8, problems: [] });

    // Behind Tiercast's back: the campaign's newest entry deleted straight from the store.
    const runtime = await startRuntime({ dataDir, config: parseConfig({}) });
    await runtime.repo.ddb.send(
      new DeleteCommand({
        TableName: runtime.repo.table,
        Key: { PK: "AUDIT#campaign#dormant-2027q1", SK: "0000000003" },
      }),
    );
    await runtime.stop();
    const broken = await cli(["audit", "verify", "--json"], { dataDir });
    expect(broken.code).toBe(1);
    expect(broken.json()).toMatchObject({
      intact: false,
      entries: 7,
      problems: [
        "campaign/dormant-2027q1: the head is at entry 3 but the trail ends at 2: truncated",
        "campaign/dormant-2027q1: the anchor recorded entry 3 but the trail ends at 2: truncated",
      ],
    });
  }, 240_000);
});
