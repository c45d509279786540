import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { DataStack } from "../../infra/stacks/data-stack.ts";
import { testSettings } from "./settings.ts";

describe("data stack", () => {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const template = Template.fromStack(new DataStack(app, "Data", { settings: testSettings("prod") }));

  it("has the single table with PITR, a customer-managed key and the sharded tier indexes", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [
        { AttributeName: "PK", KeyType: "HASH" },
        { AttributeName: "SK", KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: Match.anyValue() },
      DeletionProtectionEnabled: true,
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: "GSI1",
          KeySchema: [
            { AttributeName: "GSI1PK", KeyType: "HASH" },
            { AttributeName: "GSI1SK", KeyType: "RANGE" },
          ],
        }),
      ]),
    });
    const table = Object.values(template.findResources("AWS::DynamoDB::Table"))[0] as {
      Properties: { GlobalSecondaryIndexes: { IndexName: string }[] };
      DeletionPolicy: string;
    };
    expect(table.Properties.GlobalSecondaryIndexes.map((g) => g.IndexName)).toEqual([
      "GSI1",
      "GSI2",
      "GSI3",
      "GSI4",
      "GSI5",
      "GSI6",
    ]);
    expect(table.DeletionPolicy).toBe("Retain");
  });

  it("rotates the data key", () => {
    template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
  });
});
