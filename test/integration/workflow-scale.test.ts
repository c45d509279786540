import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { previewCampaign } from "#functions/campaign/preview.ts";
import { saveCampaign } from "#functions/campaign/record.ts";
import { parseCampaign } from "#functions/campaign/schema.ts";
import { startDispatch } from "#local/dispatch.ts";
import { runLaunchWorkflow } from "#local/launch.ts";
import type { Runtime } from "#local/runtime.ts";
import { AWS_WORKFLOW_LIMITS, type ExecutionRecord } from "#local/sfn.ts";
import { LOCAL_SHARD_MACHINE_ARN } from "#workflows/launch-campaign/arn.ts";
import { readCampaignFile } from "../../cli/campaign-file.ts";
import { ledgerRows, localBank, setClock } from "./bank.ts";

const AT = "2027-03-01T02:00:00.000Z"; // 10:00 Asia/Shanghai

let runtime: Runtime;

// Small pages and a two-page child budget make many chunks from a small bank: what 100M customers
// at 1,000 a page and 2,000 pages a child do to the history, in miniature.
describe("the launch workflow in chunks of child executions (embedded runtime)", () => {
  beforeAll(async () => {
    runtime = await localBank(1_500, new Date("2027-02-28T00:00:00Z"), {
      pageSize: 10,
      pagesPerExecution: 2,
      shards: 4,
    });
    setClock(runtime, AT);
    await startDispatch(runtime);
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  const campaign = (id: string) =>
    parseCampaign(
      {
        ...readCampaignFile("examples/dormant-reactivation.json", runtime.config),
        campaignId: id,
      },
      runtime.config,
    );

  it("decides every page through child executions with distinct names, none near its limit", async () => {
    const c = campaign("chunks-1");
    const preview = await previewCampaign(runtime.repo, c, runtime.config, new Date(AT), runtime.secret);
    await saveCampaign(runtime.repo, c, new Date(AT));
    const executions: ExecutionRecord[] = [];
    const out = (await runLaunchWorkflow(runtime, { campaignId: c.campaignId, at: AT }, { executions })) as {
      status: string;
    };
    const rows = await ledgerRows(runtime, c.campaignId);
    expect(rows).toHaveLength(preview.audience);
    const children = executions.filter((e) => e.machine === LOCAL_SHARD_MACHINE_ARN);
    // 2 tiers × 4 shards, each several chunks of ≤ 2 pages.
    expect(children.length).toBeGreaterThan(8);
    expect(new Set(children.map((e) => e.name)).size).toBe(children.length);
    for (const child of children) {
      expect(child.status).toBe("SUCCEEDED");
      // ≤ 2 pages × 7 + start, Succeed, end.
      expect(child.events).toBeLessThanOrEqual(2 * 7 + 4);
    }
    expect(executions.every((e) => e.maxPayloadBytes < AWS_WORKFLOW_LIMITS.payloadBytes)).toBe(true);
    expect(out.status).toBe("SUCCEEDED");
  }, 120_000);

  it("fails a launch whose parent passes a lowered history limit, and a relaunch then completes it", async () => {
    const c = campaign("chunks-2");
    const preview = await previewCampaign(runtime.repo, c, runtime.config, new Date(AT), runtime.secret);
    await saveCampaign(runtime.repo, c, new Date(AT));
    runtime.workflowLimits = { ...AWS_WORKFLOW_LIMITS, historyEvents: 60 };
    const failed = (await runLaunchWorkflow(runtime, { campaignId: c.campaignId, at: AT })) as {
      status: string;
      error: string;
    };
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toMatch(/passed 60 history events/);

    runtime.workflowLimits = { ...AWS_WORKFLOW_LIMITS };
    const executions: ExecutionRecord[] = [];
    await runLaunchWorkflow(runtime, { campaignId: c.campaignId, at: AT }, { executions });
    expect(executions.every((e) => e.status === "SUCCEEDED")).toBe(true);
    const rows = await ledgerRows(runtime, c.campaignId);
    expect(rows).toHaveLength(preview.audience);
    expect(new Set(rows.map((r) => r.customerId)).size).toBe(rows.length);
  }, 120_000);

  it("fails a launch whose state passes a lowered payload limit", async () => {
    const c = campaign("chunks-3");
    await saveCampaign(runtime.repo, c, new Date(AT));
    runtime.workflowLimits = { ...AWS_WORKFLOW_LIMITS, payloadBytes: 400 };
    try {
      const failed = (await runLaunchWorkflow(runtime, { campaignId: c.campaignId, at: AT })) as {
        status: string;
        error: string;
      };
      expect(failed.status).toBe("FAILED");
      expect(failed.error).toMatch(/(input|output) of state \w+ is \d+ bytes \(limit 400\)/);
    } finally {
      runtime.workflowLimits = { ...AWS_WORKFLOW_LIMITS };
    }
  }, 120_000);
});
