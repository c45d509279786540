import { parseCron, toEventBridge } from "./cron.ts";

export interface SchedulerSettings {
  group?: string;
  roleArn?: string;
  functionArn?: string;
}

/**
 * Creates, replaces or deletes the EventBridge schedule that fires a Tiercast schedule at its cron.
 * Without a group, role and target (the embedded runtime) there is nothing to sync: the in-process
 * scheduler polls the table.
 */
export function eventBridgeSchedules(s: SchedulerSettings, timeZone: string) {
  return async (scheduleId: string, cron: string | undefined) => {
    if (!s.group || !s.roleArn || !s.functionArn) return;
    const sch = await import("@aws-sdk/client-scheduler");
    const client = new sch.SchedulerClient({});
    const Name = `tiercast-${scheduleId}`;
    if (!cron) {
      await client.send(new sch.DeleteScheduleCommand({ Name, GroupName: s.group })).catch((err: Error) => {
        if (err.name !== "ResourceNotFoundException") throw err;
      });
      return;
    }
    const input = {
      Name,
      GroupName: s.group,
      ScheduleExpression: toEventBridge(parseCron(cron)),
      ScheduleExpressionTimezone: timeZone,
      FlexibleTimeWindow: { Mode: "OFF" as const },
      Target: {
        Arn: s.functionArn,
        RoleArn: s.roleArn,
        Input: JSON.stringify({ scheduleId }),
        RetryPolicy: { MaximumRetryAttempts: 3 },
      },
    };
    try {
      await client.send(new sch.UpdateScheduleCommand(input));
    } catch (err) {
      if ((err as Error).name !== "ResourceNotFoundException") throw err;
      await client.send(new sch.CreateScheduleCommand(input));
    }
  };
}
