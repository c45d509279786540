import { env } from "./env.ts";

/**
 * Starts the launch state machine. The execution name is the campaign and version, so a retried API
 * call or a repeated schedule firing finds the execution already there instead of launching twice.
 */
export async function startExecution(campaignId: string, version: number, at: string) {
  const { SFNClient, StartExecutionCommand } = await import("@aws-sdk/client-sfn");
  const client = new SFNClient({});
  const name = `${campaignId}-v${version}`.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 80);
  const stateMachineArn = env().STATE_MACHINE_ARN;
  if (!stateMachineArn) throw new Error("STATE_MACHINE_ARN is not set");
  try {
    const out = await client.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ campaignId, at }) }),
    );
    return { executionId: out.executionArn ?? name };
  } catch (err) {
    if ((err as Error).name === "ExecutionAlreadyExists") return { executionId: name };
    throw err;
  }
}
