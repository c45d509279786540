import { afterEach, describe, expect, it, vi } from "vitest";

/** The EMF documents Powertools writes to stdout (what CloudWatch turns into metrics). */
async function emitted(run: (m: typeof import("#platform/metrics.ts")) => void) {
  vi.resetModules();
  vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
  vi.stubEnv("POWERTOOLS_DEV", "");
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    run(await import("#platform/metrics.ts"));
  } finally {
    write.mockRestore();
  }
  return lines
    .flatMap((l) => l.split("\n"))
    .filter((l) => l.includes('"_aws"'))
    .map(
      (l) =>
        JSON.parse(l) as Record<string, unknown> & {
          _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
        },
    );
}

/** Each metric value with the dimensions it was published under. */
const points = (docs: Awaited<ReturnType<typeof emitted>>) =>
  docs.flatMap((d) =>
    d._aws.CloudWatchMetrics.flatMap((cw) =>
      cw.Metrics.map((m) => ({
        name: m.Name,
        value: d[m.Name],
        dims: Object.fromEntries(cw.Dimensions.flat().map((k) => [k, d[k]])),
      })),
    ),
  );

describe("send outcome metrics", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("publish every outcome of a message with its channel, and with its tier", async () => {
    const docs = await emitted((m) =>
      m.recordOutcomes("sms", ["sent", "failed", "sent", "unknown"], ["key", "key", "mass", "mass"]),
    );
    const p = points(docs);
    for (const [name, value] of [
      ["sent", 2],
      ["failed", 1],
      ["unknown", 1],
    ] as const)
      expect(p).toContainEqual({ name, value, dims: expect.objectContaining({ channel: "sms" }) });
    expect(p).toContainEqual({ name: "failed", value: 1, dims: expect.objectContaining({ tier: "key" }) });
    expect(p).toContainEqual({ name: "unknown", value: 1, dims: expect.objectContaining({ tier: "mass" }) });
    // Nothing published without the dimension it was recorded under.
    expect(p.filter((x) => !("channel" in x.dims) && !("tier" in x.dims))).toEqual([]);
  });
});
