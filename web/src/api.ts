export interface ApiError {
  error: string;
  message: string;
  problems?: string[];
}

export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(body.message);
  }
}

const TOKEN_KEY = "tiercast.token";
export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? "",
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token.get()}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as unknown) : {};
  if (!res.ok) throw new RequestError(res.status, parsed as ApiError);
  return parsed as T;
}

/** The whole ledger as one CSV file, fetched page by page with the API's cursor. */
export async function ledgerCsv(campaignId: string): Promise<string> {
  let cursor = "";
  let out = "";
  for (;;) {
    const res = await fetch(
      `/api/campaigns/${encodeURIComponent(campaignId)}/ledger?format=csv&limit=5000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      { headers: { authorization: `Bearer ${token.get()}` } },
    );
    if (!res.ok) throw new RequestError(res.status, (await res.json()) as ApiError);
    out += await res.text();
    cursor = res.headers.get("x-next-cursor") ?? "";
    if (!cursor) return out;
  }
}
