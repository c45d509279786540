import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { z } from "zod";
import { formatIssues } from "#platform/config.ts";
import type { Repo } from "#platform/repo.ts";

/**
 * The bank's staff by role per branch (000:547: president/VP, the branch's corporate-department head,
 * RMs, outlet heads and deputies): imported like customers, read by the monthly contact plan. The only
 * writer of `STAFF#` items: a profile per person and a membership in their branch's partition.
 */
export const STAFF_ROLES = [
  "president",
  "vice_president",
  "corp_head",
  "rm",
  "outlet_head",
  "outlet_deputy",
] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export const Staff = z.object({
  staffId: z.string().regex(/^[^#\s]{1,64}$/, "1-64 characters, no '#' or spaces"),
  role: z.enum(STAFF_ROLES),
  branchId: z.string().min(1).max(64),
  name: z.string().max(200).optional(),
});
export type Staff = z.infer<typeof Staff>;

const profileKey = (staffId: string) => ({ PK: `STAFF#${staffId}`, SK: "PROFILE" });
const memberKey = (branchId: string, staffId: string) => ({ PK: `STAFF#BR#${branchId}`, SK: staffId });

/** Upserts staff records; a person who moved branch leaves the old branch's list. Bad rows come back by line. */
export async function importStaff(
  repo: Repo,
  records: AsyncIterable<{ line: number; value?: Record<string, unknown>; error?: string }>,
) {
  const report = { imported: 0, rejected: [] as { line: number; error: string }[] };
  for await (const r of records) {
    if (!r.value) {
      report.rejected.push({ line: r.line, error: r.error ?? "not a record" });
      continue;
    }
    const parsed = Staff.safeParse(r.value);
    if (!parsed.success) {
      report.rejected.push({ line: r.line, error: formatIssues(parsed.error.issues).join("; ") });
      continue;
    }
    const staff = parsed.data;
    const before = await repo.get<Staff>(profileKey(staff.staffId));
    if (before && before.branchId !== staff.branchId)
      await repo.ddb.send(
        new DeleteCommand({ TableName: repo.table, Key: memberKey(before.branchId, staff.staffId) }),
      );
    await repo.put({ ...profileKey(staff.staffId), ...staff });
    await repo.put({ ...memberKey(staff.branchId, staff.staffId), ...staff });
    report.imported++;
  }
  return report;
}

/** A branch's staff, by id. */
export async function staffOfBranch(repo: Repo, branchId: string): Promise<Staff[]> {
  const out: Staff[] = [];
  for await (const item of repo.queryAll(`STAFF#BR#${branchId}`))
    out.push({
      staffId: String(item.staffId),
      role: item.role as StaffRole,
      branchId: String(item.branchId),
      ...(item.name ? { name: String(item.name) } : {}),
    });
  return out;
}
