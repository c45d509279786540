import { describe, expect, it } from "vitest";
import {
  SampleTally,
  type ShardRead,
  sampleSortKey,
  sampleUnit,
  sampleValue,
  scoreInterval,
  stratifiedCount,
  thresholdSample,
  Z95,
} from "#functions/campaign/sampling.ts";
import { shardOf, unitDraw } from "#platform/hash.ts";

/** A known population: ids, their shard, and the first k + 1 of each shard in sample order (what the index answers). */
function population(n: number, shards: number) {
  const ids = Array.from({ length: n }, (_, i) => `C${String(i + 1).padStart(9, "0")}`);
  const byShard = Array.from({ length: shards }, () => [] as string[]);
  for (const id of ids) byShard[shardOf(id, shards)]!.push(id);
  for (const s of byShard) s.sort((a, b) => (sampleSortKey(a) < sampleSortKey(b) ? -1 : 1));
  const read = (k: number): ShardRead<string>[] =>
    byShard.map((s) => ({
      items: s.slice(0, k + 1).map((id) => ({ u: sampleUnit(sampleSortKey(id)), item: id })),
      complete: s.length <= k,
    }));
  return { ids, read };
}

describe("sample keys", () => {
  it("sort in the order of their values, and carry them", () => {
    const ids = Array.from({ length: 500 }, (_, i) => `cust-${i}`);
    const byKey = [...ids].sort((a, b) => (sampleSortKey(a) < sampleSortKey(b) ? -1 : 1));
    const byValue = [...ids].sort((a, b) => sampleValue(a) - sampleValue(b));
    expect(byKey).toEqual(byValue);
    for (const id of ids) expect(sampleUnit(sampleSortKey(id))).toBe(sampleValue(id) / 2 ** 32);
    expect(sampleSortKey("C1")).toMatch(/^[0-9a-f]{8}#C1$/);
  });
});

describe("score interval", () => {
  it("is exact with zero width when everything was read (rate 1)", () => {
    expect(scoreInterval(0, 1)).toEqual({ estimate: 0, low: 0, high: 0 });
    expect(scoreInterval(1234, 1)).toEqual({ estimate: 1234, low: 1234, high: 1234 });
    expect(
      stratifiedCount([
        { y: 10, rate: 1 },
        { y: 5, rate: 1 },
      ]),
    ).toEqual({ estimate: 15, low: 15, high: 15 });
  });

  it("is not of zero width when nothing was seen in a sample", () => {
    const s = scoreInterval(0, 0.1);
    expect(s.estimate).toBe(0);
    expect(s.low).toBe(0);
    // λ_high = z²c, so Y_high = z²·0.9 / 0.1
    expect(s.high).toBeCloseTo((Z95 * Z95 * 0.9) / 0.1, 9);
  });

  it("matches the closed form and never goes below what was seen", () => {
    const y = 40;
    const rate = 0.25;
    const c = 0.75;
    const half = Z95 * Math.sqrt(c * (y + (Z95 * Z95 * c) / 4));
    const s = scoreInterval(y, rate);
    expect(s.estimate).toBe(160);
    expect(s.low).toBeCloseTo((y + (Z95 * Z95 * c) / 2 - half) / rate, 9);
    expect(s.high).toBeCloseTo((y + (Z95 * Z95 * c) / 2 + half) / rate, 9);
    expect(s.low).toBeGreaterThanOrEqual(y);
    expect(s.low).toBeLessThan(160);
    expect(s.high).toBeGreaterThan(160);
  });

  it("refuses a rate outside (0, 1] and a negative count", () => {
    expect(() => scoreInterval(1, 0)).toThrow(RangeError);
    expect(() => scoreInterval(1, 1.5)).toThrow(RangeError);
    expect(() => scoreInterval(-1, 0.5)).toThrow(RangeError);
  });

  it("combines strata: one read whole adds no width", () => {
    const one = stratifiedCount([{ y: 30, rate: 0.5 }]);
    const both = stratifiedCount([
      { y: 30, rate: 0.5 },
      { y: 100, rate: 1 },
    ]);
    expect(both.estimate).toBe(one.estimate + 100);
    expect(both.low).toBe(one.low + 100);
    expect(both.high).toBe(one.high + 100);
  });
});

describe("threshold sample", () => {
  it("takes every entry when every shard was read to its end", () => {
    const { ids, read } = population(300, 4);
    const s = thresholdSample(read(1000));
    expect(s.rate).toBe(1);
    expect(s.items.sort()).toEqual([...ids].sort());
  });

  it("keeps exactly the entries below the least (k + 1)-th value", () => {
    const { ids, read } = population(20_000, 16);
    const s = thresholdSample(read(100));
    expect(s.rate).toBeGreaterThan(0);
    expect(s.rate).toBeLessThan(1);
    const expected = ids.filter((id) => sampleValue(id) / 2 ** 32 < s.rate).sort();
    expect([...s.items].sort()).toEqual(expected);
    // at most k from each shard
    expect(s.items.length).toBeLessThanOrEqual(16 * 100);
    expect(s.items.length).toBeGreaterThan(16 * 60);
  });

  it("estimates a known population within its interval, and the whole population exactly", () => {
    const { ids, read } = population(100_000, 16);
    // A property unrelated to the sample's hash: 30% of the population.
    const has = (id: string) => unitDraw("property", id) < 0.3;
    const truth = ids.filter(has).length;

    const all = thresholdSample(read(100_000));
    const exact = new SampleTally();
    exact.stratum("t", all.rate);
    for (const id of all.items) {
      exact.add("t", "audience");
      if (has(id)) exact.add("t", "has");
    }
    expect(exact.exact).toBe(true);
    expect(exact.count("has")).toEqual({ estimate: truth, low: truth, high: truth });
    expect(exact.count("audience")).toEqual({ estimate: 100_000, low: 100_000, high: 100_000 });

    const s = thresholdSample(read(150));
    const tally = new SampleTally();
    tally.stratum("t", s.rate);
    for (const id of s.items) {
      tally.add("t", "audience");
      if (has(id)) tally.add("t", "has");
    }
    expect(tally.exact).toBe(false);
    const audience = tally.count("audience");
    expect(audience.low).toBeLessThanOrEqual(100_000);
    expect(audience.high).toBeGreaterThanOrEqual(100_000);
    const c = tally.count("has");
    expect(c.low).toBeLessThanOrEqual(truth);
    expect(c.high).toBeGreaterThanOrEqual(truth);
    expect(c.high - c.low).toBeGreaterThan(0);
    expect(c.high - c.low).toBeLessThan(truth * 0.3);
  });

  it("covers the true count about 95% of the time", () => {
    const { ids, read } = population(40_000, 16);
    const s = thresholdSample(read(60));
    let covered = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const share = 0.02 + (t % 20) / 25;
      const has = (id: string) => unitDraw(`p${t}`, id) < share;
      const truth = ids.filter(has).length;
      const tally = new SampleTally();
      tally.stratum("t", s.rate);
      for (const id of s.items) if (has(id)) tally.add("t", "has");
      const c = tally.count("has");
      if (c.low <= truth && truth <= c.high) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThanOrEqual(1);
  });

  it("widens a cell's interval for a stratum where it was not seen", () => {
    const tally = new SampleTally();
    tally.stratum("a", 0.5);
    tally.stratum("b", 0.1);
    tally.add("a", "x", 10);
    const onlyA = tally.count("x", ["a"]);
    const both = tally.count("x");
    expect(both.estimate).toBe(onlyA.estimate);
    expect(both.high).toBeGreaterThan(onlyA.high);
    expect(tally.seen("x")).toBe(10);
    expect(() => tally.add("c", "x")).toThrow(/unknown stratum/);
  });
});
