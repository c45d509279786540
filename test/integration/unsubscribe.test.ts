import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unsubscribeToken } from "#functions/campaign/decide.ts";
import type { Runtime } from "#local/runtime.ts";
import { type LocalServer, startServe } from "#local/serve.ts";
import { shardOf } from "#platform/hash.ts";
import { key } from "#platform/table.ts";
import { localBank, setClock } from "./bank.ts";

const AT = "2027-03-01T02:00:00.000Z";
let runtime: Runtime;
let server: LocalServer;

/** A recipient's ledger row, as a launch leaves it after an email was sent, and the link the email carried. */
async function recipient(campaignId: string, customerId: string) {
  const shard = shardOf(customerId, runtime.config.shards);
  await runtime.repo.put({
    ...key.ledger(campaignId, shard, customerId),
    campaignId,
    customerId,
    shard,
    tier: "quality",
    decision: "sent",
    channel: "email",
    variant: "A",
    decidedAt: AT,
    at: AT,
  });
  const t = unsubscribeToken(runtime.secret, campaignId, customerId);
  return `${server.url}/u?c=${campaignId}&r=${customerId}&t=${t}`;
}

const optedOut = async (customerId: string) =>
  (await runtime.repo.get<{ optOut?: Record<string, string> }>(key.contactState(customerId)))?.optOut;

describe("one-click unsubscribe (RFC 8058)", () => {
  beforeAll(async () => {
    runtime = await localBank(10, new Date(AT));
    setClock(runtime, AT);
    server = await startServe(runtime, { schedulerMs: 0, webDir: false });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await runtime?.stop();
  });

  it("GET shows a confirmation page and opts nobody out (a link scanner's fetch changes nothing)", async () => {
    const url = await recipient("unsub-get", "C-GET-1");
    const res = await fetch(url);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toMatch(/<form method="post"/);
    expect(html).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(await optedOut("C-GET-1")).toBeUndefined();
  });

  it("POST with List-Unsubscribe=One-Click (what mail providers send) opts the customer out of email", async () => {
    const url = await recipient("unsub-post", "C-POST-1");
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    expect(res.status).toBe(200);
    expect(await optedOut("C-POST-1")).toEqual({ email: expect.any(String) });
  });

  it("POST with an altered token opts nobody out", async () => {
    const url = await recipient("unsub-forged", "C-FORGED-1");
    const res = await fetch(`${url.slice(0, -1)}${url.endsWith("A") ? "B" : "A"}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    expect(res.status).toBe(404);
    expect(await optedOut("C-FORGED-1")).toBeUndefined();
  });
});
