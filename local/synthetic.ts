import { once } from "node:events";
import { createWriteStream } from "node:fs";

/** mulberry32: tiny, fast, seedable; the same seed always yields the same bank. */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SURNAMES =
  "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
const GIVEN =
  "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍鹏建华红梅飞鑫波宇浩凯健俊帆帅旭宁龙林欣佳怡子涵雨晨思远博文嘉琪梓轩";
const CORP_PREFIX = ["华信", "东方", "长江", "新元", "恒通", "中泰", "瑞丰", "金桥", "宏达", "安和"];
const CORP_SUFFIX = ["科技有限公司", "贸易有限公司", "制造股份有限公司", "物流有限公司", "实业集团"];

/** Share of retail customers per AUM tier and the tier's range (CNY); most are mass or potential. */
const RETAIL_MIX: [number, number, number][] = [
  [0.52, 100, 10_000],
  [0.27, 10_000, 50_000],
  [0.14, 50_000, 300_000],
  [0.06, 300_000, 1_000_000],
  [0.01, 1_000_000, 20_000_000],
];

function pickBand(x: number): [number, number, number] {
  for (const band of RETAIL_MIX) {
    x -= band[0];
    if (x < 0) return band;
  }
  return RETAIL_MIX[0]!;
}

export interface GenerateOptions {
  customers: number;
  seed: number;
  at: Date;
}

export function* syntheticCustomers({
  customers,
  seed,
  at,
}: GenerateOptions): Generator<Record<string, unknown>> {
  const r = rng(seed);
  // The growth attributes draw from their own stream, so the rest of the bank is what it always was.
  const g = rng(seed ^ 0x5bd1e995);
  const month = localMonth(at);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const pickChar = (xs: string): string => xs[Math.floor(r() * xs.length)]!;
  const logUniform = (lo: number, hi: number) =>
    Math.round(Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo))) * 100) / 100;
  const daysAgo = (days: number) => new Date(at.getTime() - days * 86_400_000);
  const branches = Math.max(1, Math.round(customers / 5000));
  let rmBook = 0;
  let rmSeq = 0;
  let rmSize = 0;
  const width = String(customers).length;
  const phones: string[] = [];
  for (let i = 0; i < customers; i++) {
    if (rmBook >= rmSize) {
      rmSeq++;
      rmBook = 0;
      rmSize = 500 + Math.floor(r() * 301);
    }
    rmBook++;
    const customerId = `C${String(i + 1).padStart(Math.max(7, width), "0")}`;
    const corporate = r() < 0.04;
    const branchId = `BR${String(((rmSeq - 1) % branches) + 1).padStart(3, "0")}`;
    let aum: number;
    let name: string;
    if (corporate) {
      const x = r();
      aum =
        x < 0.7
          ? logUniform(1_000_000, 50_000_000)
          : x < 0.93
            ? logUniform(50_000_000, 200_000_000)
            : logUniform(200_000_000, 2_000_000_000);
      name = `${pick(CORP_PREFIX)}${pick(CORP_SUFFIX)}`;
    } else {
      const band = pickBand(r());
      aum = logUniform(band[1], band[2]);
      name = pickChar(SURNAMES) + pickChar(GIVEN) + (r() < 0.6 ? pickChar(GIVEN) : "");
    }
    // Phones: mostly valid mainland mobiles; some missing, some invalid, a few shared by a household.
    let phone: string | undefined;
    const p = r();
    if (p < 0.04) phone = undefined;
    else if (p < 0.06) phone = `0${Math.floor(r() * 1e9)}`;
    else if (p < 0.07 && phones.length > 0) phone = pick(phones);
    else {
      phone = `1${pickChar("3456789")}${String(Math.floor(r() * 1e9)).padStart(9, "0")}`;
      if (r() < 0.2) phone = `+86${phone}`;
      if (phones.length < 1000) phones.push(phone);
      else phones[Math.floor(r() * 1000)] = phone;
    }
    const e = r();
    const email = e < 0.5 ? undefined : e < 0.52 ? "not-an-email" : `u${i + 1}@example.com`;
    const lastTx = r();
    const lastTransactionAt =
      lastTx < 0.05 ? undefined : daysAgo(lastTx < 0.25 ? 180 + r() * 720 : r() * 179).toISOString();
    const openedAt = daysAgo(30 + r() * 365 * 15)
      .toISOString()
      .slice(0, 10);
    const record: Record<string, unknown> = {
      customerId,
      kind: corporate ? "corporate" : "retail",
      name,
      phone,
      email,
      aum,
      branchId,
      rmId: `RM${String(rmSeq).padStart(4, "0")}`,
      openedAt,
      lastTransactionAt,
      riskFlag: r() < 0.02,
      consentSms: r() < 0.75,
      consentEmail: r() < 0.55,
    };
    if (!corporate) {
      if (r() < 0.3) record.familyAum = Math.round(aum * (1 + r()) * 100) / 100;
      const c = r();
      record.cardTier =
        aum >= 300_000 && c < 0.5
          ? "platinum"
          : aum >= 100_000 && c < 0.6
            ? "gold"
            : c < 0.005
              ? "black"
              : "silver";
      const year = 1950 + Math.floor(r() * 55);
      const month = 1 + Math.floor(r() * 12);
      const day = 1 + Math.floor(r() * 28);
      record.birthday = `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
      if (i > 10 && r() < 0.03)
        record.referredBy = `C${String(1 + Math.floor(r() * i)).padStart(Math.max(7, width), "0")}`;
    }
    Object.assign(
      record,
      growthAttributes(g, aum, corporate, month, record.birthday as string | undefined, at),
    );
    for (const k of Object.keys(record)) if (record[k] === undefined) delete record[k];
    yield record;
  }
}

const localMonth = (at: Date) => new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 7);
const monthBefore = (month: string, n: number) => {
  const i = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 - n;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}`;
};
const RISK = ["C1", "C2", "C3", "C4", "C5"] as const;

/**
 * Tags, products, risk tolerance, a large CD and three months of AUM history (the seeds' groups,
 * 002:28-52): payroll, mortgage, parent-child, POS merchants, Gen Z; most balances drift a few percent
 * a month, one in eight fell by a fifth or more (asset retention's audience).
 */
function growthAttributes(
  g: () => number,
  aum: number,
  corporate: boolean,
  month: string,
  birthday: string | undefined,
  at: Date,
): Record<string, unknown> {
  const tags: string[] = [];
  const products = ["DEPOSIT"];
  if (corporate) {
    if (g() < 0.3) tags.push("pos-merchant");
    if (g() < 0.5) products.push("PAYROLL_AGENCY");
    const out: Record<string, unknown> = { tags, products };
    // A target credit line for one in five firms; the largest reach class 1 by it (000:547).
    if (g() < 0.2) out.creditLine = Math.round(aum * (1 + g() * 3));
    return out;
  }
  if (g() < 0.25) tags.push("payroll");
  if (g() < 0.1) {
    tags.push("mortgage");
    products.push("MORTGAGE");
  }
  if (g() < 0.15) tags.push("parent-child");
  if (birthday && Number(birthday.slice(0, 4)) >= 1997) tags.push("genz");
  if (g() < 0.4) products.push("CREDIT_CARD");
  if (g() < 0.3) products.push("FUND");
  if (g() < 0.25) products.push("WEALTH");
  if (g() < 0.1) products.push("INSURANCE");
  const out: Record<string, unknown> = { tags, products };
  if (g() < 0.8) out.riskTolerance = RISK[Math.min(4, Math.floor(g() * 5))];
  if (aum >= 200_000 && g() < 0.3) {
    products.push("LARGE_CD");
    out.cdAmount = Math.round(aum * (0.3 + g() * 0.5));
    out.cdMaturesAt = new Date(at.getTime() + Math.floor(g() * 180) * 86_400_000).toISOString().slice(0, 10);
  }
  // Monthly drift, back from today: most ±3%, one in eight fell ≥ 20% over the three months.
  const fell = g() < 0.125;
  const history: Record<string, number> = {};
  let level = aum;
  for (let k = 1; k <= 3; k++) {
    level = fell ? level * (1.08 + g() * 0.06) : level * (0.97 + g() * 0.06);
    history[monthBefore(month, k)] = Math.round(level * 100) / 100;
  }
  out.aumHistory = history;
  return out;
}

export async function writeSyntheticBank(path: string, options: GenerateOptions): Promise<number> {
  const out = createWriteStream(path, { encoding: "utf8" });
  let n = 0;
  let buffer = "";
  for (const record of syntheticCustomers(options)) {
    buffer += `${JSON.stringify(record)}\n`;
    n++;
    if (buffer.length > 1 << 16) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end(buffer);
  await once(out, "finish");
  return n;
}

/**
 * The bank's next monthly export, as a delta: the customers in `aumOf` with their new AUM, every other
 * field as before (an import is an upsert of whole records), streamed like the bank itself.
 */
export async function writeSyntheticDelta(
  path: string,
  options: GenerateOptions,
  aumOf: ReadonlyMap<string, number>,
): Promise<number> {
  const out = createWriteStream(path, { encoding: "utf8" });
  let n = 0;
  let buffer = "";
  for (const record of syntheticCustomers(options)) {
    const aum = aumOf.get(String(record.customerId));
    if (aum === undefined) continue;
    const { aumHistory: _history, ...rest } = record;
    buffer += `${JSON.stringify({ ...rest, aum })}\n`;
    n++;
    if (buffer.length > 1 << 16) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end(buffer);
  await once(out, "finish");
  return n;
}
