/**
 * RM book assignment (000:640), rules A–D, as a pure plan over what the store holds:
 *   A  a customer who has an RM keeps them;
 *   B  RMs claim customers they know (a claim file, line by line);
 *   C  the unclaimed customers of the tiers that must have an RM (potential and quality by default)
 *      go to an RM of their branch, the higher tiers first, each to the RM with the smallest book;
 *   D  no claim or assignment takes a book past the cap (books already over it are kept, and reported).
 * The plan holds only the customers without an RM and a count per book, never the whole bank.
 */
export interface BookCustomer {
  customerId: string;
  branchId?: string;
  tier: string;
  rmId?: string;
}

export interface Claim {
  line: number;
  customerId: string;
  rmId: string;
}

export interface BookPlanInput {
  /** How many customers each RM holds today (rule A keeps them all). */
  books: Map<string, number>;
  /** The customers without an RM, and those a claim names (looked up). */
  customers: Map<string, BookCustomer>;
  claims: Claim[];
  /** Each RM's branch (staff, users, or where their book is). */
  rmBranch: Map<string, string>;
  cap: number;
  /** The tiers every customer of must have an RM, highest first. */
  assignTiers: string[];
  /** A branch user's plan: claims of other branches' customers are refused by line. */
  branchId?: string;
}

export interface Assignment {
  customerId: string;
  rmId: string;
  branchId?: string;
  tier: string;
  rule: "B" | "C";
  line?: number;
}

export function planBooks(input: BookPlanInput) {
  const books = new Map(input.books);
  const assignments: Assignment[] = [];
  const rejected: { line: number; customerId: string; rmId: string; error: string }[] = [];
  const taken = new Map<string, { rmId: string; line: number }>();
  const room = (rmId: string) => (books.get(rmId) ?? 0) < input.cap;
  const give = (a: Assignment) => {
    assignments.push(a);
    books.set(a.rmId, (books.get(a.rmId) ?? 0) + 1);
  };

  for (const claim of input.claims) {
    const refuse = (error: string) => rejected.push({ ...claim, error });
    const c = input.customers.get(claim.customerId);
    const rmBranch = input.rmBranch.get(claim.rmId);
    if (!c) refuse(`no customer "${claim.customerId}"`);
    else if (input.branchId && c.branchId !== input.branchId)
      refuse(`customer ${claim.customerId} is not a customer of branch ${input.branchId}`);
    else if (c.rmId === claim.rmId)
      refuse(`customer ${claim.customerId} is already in the book of ${claim.rmId}`);
    else if (c.rmId) refuse(`customer ${claim.customerId} keeps RM ${c.rmId} (rule A)`);
    else if (taken.has(claim.customerId)) {
      const first = taken.get(claim.customerId)!;
      refuse(`customer ${claim.customerId} was claimed by ${first.rmId} on line ${first.line}`);
    } else if (!rmBranch) refuse(`${claim.rmId} is not a known RM (staff import or users add --role rm)`);
    else if (rmBranch !== c.branchId)
      refuse(`${claim.rmId} is an RM of branch ${rmBranch}, the customer is of ${c.branchId ?? "(none)"}`);
    else if (!room(claim.rmId)) refuse(`the book of ${claim.rmId} is full (cap ${input.cap}, rule D)`);
    else {
      taken.set(claim.customerId, { rmId: claim.rmId, line: claim.line });
      give({ ...c, rmId: claim.rmId, rule: "B", line: claim.line });
    }
  }

  const rmsOf = new Map<string, string[]>();
  for (const [rmId, branchId] of input.rmBranch) rmsOf.set(branchId, [...(rmsOf.get(branchId) ?? []), rmId]);
  const rank = new Map(input.assignTiers.map((t, i) => [t, i]));
  const waiting = [...input.customers.values()]
    .filter((c) => !c.rmId && !taken.has(c.customerId) && rank.has(c.tier))
    .filter((c) => !input.branchId || c.branchId === input.branchId)
    .sort((a, b) => rank.get(a.tier)! - rank.get(b.tier)! || a.customerId.localeCompare(b.customerId));
  const unassigned: { customerId: string; tier: string; branchId: string; reason: string }[] = [];
  for (const c of waiting) {
    const rms = (c.branchId ? rmsOf.get(c.branchId) : undefined) ?? [];
    const open = rms.filter(room);
    if (open.length === 0) {
      unassigned.push({
        customerId: c.customerId,
        tier: c.tier,
        branchId: c.branchId ?? "",
        reason: rms.length === 0 ? "no_rm_in_branch" : "all_rms_at_cap",
      });
      continue;
    }
    const rmId = open.reduce((best, r) =>
      (books.get(r) ?? 0) < (books.get(best) ?? 0) ||
      ((books.get(r) ?? 0) === (books.get(best) ?? 0) && r < best)
        ? r
        : best,
    );
    give({ ...c, rmId, rule: "C" });
  }
  const overCap = [...books]
    .filter(([rmId, n]) => n > input.cap && (!input.branchId || input.rmBranch.get(rmId) === input.branchId))
    .map(([rmId, n]) => ({ rmId, customers: n, over: n - input.cap }))
    .sort((a, b) => b.customers - a.customers || a.rmId.localeCompare(b.rmId));
  return { assignments, rejected, unassigned, books, overCap };
}
