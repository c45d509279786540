import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoAllocator } from "#functions/contact/claims.ts";
import { LOCAL_AWS } from "#local/aws.ts";
import { ensureTable, type LocalDynamo, startDynamo } from "#local/dynamo.ts";
import { documentClient } from "#platform/clients.ts";
import { Repo } from "#platform/repo.ts";

// Launch-time duplicate-contact claims of a page, in transactions: the same answers as one conditional
// put per contact (first owner wins, a retried page keeps its own), in a request per 100 contacts.
let store: LocalDynamo;
let repo: Repo;

describe("a page's contact claims, together", () => {
  beforeAll(async () => {
    store = await startDynamo(undefined);
    await ensureTable(store.endpoint, "claims-test");
    repo = new Repo(
      documentClient({ ...LOCAL_AWS, endpoint: store.endpoint }),
      "claims-test",
      new Set(),
      true,
    );
  });
  afterAll(async () => {
    await store?.stop();
  });

  it("answers each claim as a single claim would, across chunks, and again on a retried page", async () => {
    const allocator = dynamoAllocator(repo, "camp", 4);
    // 40 of 250 contacts are already another customer's (an earlier page).
    const held = new Set(Array.from({ length: 40 }, (_, i) => `phone-${i * 6}`));
    for (const contactKey of held)
      expect(await allocator.claimContact(contactKey, "someone-else")).toBe(true);
    const claims = Array.from({ length: 250 }, (_, i) => ({ contactKey: `phone-${i}`, owner: `c-${i}` }));
    const won = await allocator.claimContacts!(claims);
    expect(won).toEqual(claims.map((c) => !held.has(c.contactKey)));
    // A retry of the same page: its own claims are not duplicates; the others' still are.
    expect(await allocator.claimContacts!(claims)).toEqual(won);
    // And a single claim agrees with what the batch stored.
    expect(await allocator.claimContact("phone-1", "c-1")).toBe(true);
    expect(await allocator.claimContact("phone-1", "c-2")).toBe(false);
  });

  it("gives a contact to exactly one of two pages claiming it at once", async () => {
    const allocator = dynamoAllocator(repo, "race", 4);
    const page = (owner: string) =>
      allocator.claimContacts!(
        Array.from({ length: 60 }, (_, i) => ({ contactKey: `p-${i}`, owner: `${owner}-${i}` })),
      );
    const [a, b] = await Promise.all([page("a"), page("b")]);
    for (let i = 0; i < 60; i++) expect(Number(a[i]) + Number(b[i])).toBe(1);
  });
});
