import { type Stack, Token, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * Acknowledges a cdk-nag finding where it arises, with the reason a reviewer needs. Every
 * acknowledgement in this app goes through here, so `grep acknowledge(` lists them all.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason });
  Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });
}

/** The region as cdk-nag writes it in a finding's id: `<AWS::Region>`, or the region a stack is pinned to. */
export const nagRegion = (stack: Stack) =>
  Token.isUnresolved(stack.region) ? "<AWS::Region>" : stack.region;
