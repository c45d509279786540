import { Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * Acknowledges a cdk-nag finding where it arises, with the reason a reviewer needs. Every
 * acknowledgement in this app goes through here, so `grep acknowledge(` lists them all.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason });
  Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });
}
