import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { startRuntime } from "#local/runtime.ts";
import { parseConfig } from "#shared/config.ts";

const rt = await startRuntime({
  dataDir: "/tmp/cr/data",
  config: parseConfig({}),
  at: new Date("2027-03-01T02:30:00Z"),
});
console.log("started");
for (let shard = 0; shard < 3; shard++) {
  const t = Date.now();
  const out = await rt.repo.ddb.send(
    new QueryCommand({
      TableName: "tiercast",
      IndexName: "GSI3",
      KeyConditionExpression: "GSI3PK = :pk",
      ExpressionAttributeValues: { ":pk": `INFLIGHT#referral-2027-spring#${shard}` },
      Limit: 1,
    }),
  );
  console.log(shard, out.Items?.length, Date.now() - t);
}
await rt.stop();
