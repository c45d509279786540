import { createHash, randomBytes } from "node:crypto";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import type { Repo } from "#platform/repo.ts";

export const ROLES = ["marketer", "approver", "analyst", "admin", "rm", "branch_manager"] as const;
export type Role = (typeof ROLES)[number];

/** Who is asking: from a local token, or from Cognito's JWT claims on AWS. */
export interface Actor {
  userId: string;
  role: Role;
  /** Set for branch users: they see and target only this branch's customers. */
  branchId?: string;
  /** An RM's id in the customer records (`rmId`), when it is not their user id. */
  rmId?: string;
}

export const NewUser = z
  .object({
    userId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, "1-64 letters, digits, '.', '_', '@' or '-'"),
    role: z.enum(ROLES),
    branchId: z.string().min(1).max(64).optional(),
    rmId: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe("an RM's id in the customer records (default: userId)"),
  })
  .superRefine((u, ctx) => {
    if (u.role === "branch_manager" && !u.branchId)
      ctx.addIssue({ code: "custom", path: ["branchId"], message: "a branch manager needs a branch" });
    if (u.rmId && u.role !== "rm")
      ctx.addIssue({ code: "custom", path: ["rmId"], message: "only an rm has an rmId" });
  });
export type NewUser = z.infer<typeof NewUser>;

const tokenHash = (token: string) => createHash("sha256").update(token).digest("hex");
const userKey = (userId: string) => ({ PK: `USER#${userId}`, SK: "PROFILE" });
const tokenKey = (hash: string) => ({ PK: `TOKEN#${hash}`, SK: "TOKEN" });

/**
 * Adds a user (or replaces their role and branch) and issues a new bearer token. Only the token's
 * hash is stored, so a copy of the table does not let anyone sign in; the previous token stops working.
 */
export async function addUser(repo: Repo, user: NewUser, now: Date): Promise<{ user: Actor; token: string }> {
  const token = `tc_${randomBytes(24).toString("base64url")}`;
  const hash = tokenHash(token);
  const previous = await repo.get<{ tokenHash?: string }>(userKey(user.userId));
  const actor: Actor = {
    userId: user.userId,
    role: user.role,
    ...(user.branchId ? { branchId: user.branchId } : {}),
    ...(user.rmId ? { rmId: user.rmId } : {}),
  };
  await repo.put({ ...tokenKey(hash), ...actor });
  await repo.put({ ...userKey(user.userId), ...actor, tokenHash: hash, createdAt: now.toISOString() });
  await repo.put({ PK: "USERS", SK: user.userId, ...actor });
  if (previous?.tokenHash)
    await repo.ddb.send(new DeleteCommand({ TableName: repo.table, Key: tokenKey(previous.tokenHash) }));
  return { user: actor, token };
}

const actorOf = (item: Actor): Actor => ({
  userId: item.userId,
  role: item.role,
  ...(item.branchId ? { branchId: item.branchId } : {}),
  ...(item.rmId ? { rmId: item.rmId } : {}),
});

export async function findUser(repo: Repo, userId: string): Promise<Actor | undefined> {
  const item = await repo.get<Actor>(userKey(userId));
  if (!item) return undefined;
  return actorOf(item);
}

export async function actorForToken(repo: Repo, token: string): Promise<Actor | undefined> {
  if (!/^tc_[A-Za-z0-9_-]{32}$/.test(token)) return undefined;
  const item = await repo.get<Actor>(tokenKey(tokenHash(token)));
  if (!item) return undefined;
  return actorOf(item);
}

/**
 * A verified JWT's claims (Cognito on AWS, the bank's OIDC IdP in AWS China). The user is the token's
 * `sub`, which never changes: an email (which a user may edit) as the id would let a maker approve
 * their own campaign under a new address. The role is `custom:role` or a group (`cognito:groups`, or
 * an IdP's `groups`/`roles`); the branch is `custom:branch` (or `branch`).
 */
export function actorFromClaims(claims: Record<string, unknown>): Actor | undefined {
  const list = (v: unknown) =>
    Array.isArray(v)
      ? v.map(String)
      : String(v ?? "")
          .replace(/[[\]]/g, "")
          .split(/[\s,]+/);
  const groups = [...list(claims["cognito:groups"]), ...list(claims.groups), ...list(claims.roles)];
  const role = String(
    claims["custom:role"] ?? groups.find((g) => (ROLES as readonly string[]).includes(g)) ?? "",
  );
  const userId = typeof claims.sub === "string" ? claims.sub : "";
  if (!userId || !(ROLES as readonly string[]).includes(role)) return undefined;
  const branch = claims["custom:branch"] ?? claims.branch;
  const branchId = branch ? String(branch) : undefined;
  const rm = claims["custom:rm"];
  const rmId = role === "rm" && rm ? String(rm) : undefined;
  return { userId, role: role as Role, ...(branchId ? { branchId } : {}), ...(rmId ? { rmId } : {}) };
}

export async function listUsers(repo: Repo): Promise<Actor[]> {
  const out: Actor[] = [];
  for await (const item of repo.queryAll("USERS"))
    out.push({
      userId: String(item.userId),
      role: item.role as Role,
      ...(item.branchId ? { branchId: String(item.branchId) } : {}),
      ...(item.rmId ? { rmId: String(item.rmId) } : {}),
    });
  return out;
}
