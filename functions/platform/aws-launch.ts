import { createHash } from "node:crypto";

/**
 * The execution name of one launch attempt: campaign, version and the attempt's launch time. A retried
 * call of the same attempt (the API's, or a schedule firing's, which carries its firing time) finds its
 * execution already there; a relaunch after a failed execution is a new attempt with a new name, so it
 * runs instead of silently matching the failed one. The hash keeps names distinct past the 80-character limit.
 */
export function executionName(campaignId: string, version: number, at: string): string {
  const digest = createHash("sha256").update(`${campaignId}\n${version}\n${at}`).digest("hex").slice(0, 16);
  const readable = `${campaignId}-v${version}`.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 80 - 17);
  return `${readable}-${digest}`;
}

/** Starts the launch state machine for one launch attempt (see executionName). */
export async function startExecution(
  stateMachineArn: string | undefined,
  campaignId: string,
  version: number,
  at: string,
) {
  if (!stateMachineArn) throw new Error("STATE_MACHINE_ARN is not set");
  const { SFNClient, StartExecutionCommand } = await import("@aws-sdk/client-sfn");
  const client = new SFNClient({});
  const name = executionName(campaignId, version, at);
  try {
    const out = await client.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ campaignId, at }) }),
    );
    return { executionId: out.executionArn ?? name };
  } catch (err) {
    // The name is this attempt's own, so an existing execution under it is this attempt, already started.
    if ((err as Error).name === "ExecutionAlreadyExists") return { executionId: name };
    throw err;
  }
}
