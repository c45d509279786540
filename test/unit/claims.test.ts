import { describe, expect, it } from "vitest";
import { actorFromClaims } from "#functions/access/users.ts";

describe("the actor from a verified token's claims", () => {
  const sub = "8f1c2a7e-0000-4000-8000-000000000001";

  it("is the immutable sub, whatever email the user has set", () => {
    const before = actorFromClaims({ sub, email: "mia@bank.example", "cognito:groups": "marketer" });
    const after = actorFromClaims({ sub, email: "ari@bank.example", "cognito:groups": "marketer" });
    expect(before?.userId).toBe(sub);
    expect(after?.userId).toBe(before?.userId);
  });

  it("is nobody without a sub", () => {
    expect(actorFromClaims({ email: "mia@bank.example", "cognito:groups": "admin" })).toBeUndefined();
  });

  it("takes the role from the groups claim of an OIDC IdP and the branch from custom:branch", () => {
    expect(actorFromClaims({ sub, groups: ["staff", "approver"], "custom:branch": "SH01" })).toEqual({
      userId: sub,
      role: "approver",
      branchId: "SH01",
    });
  });
});
