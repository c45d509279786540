/**
 * The API as a client sees it: a bearer token, a JSON body, and the answer's status, parsed JSON
 * (empty when the body is not JSON), raw text and content type. `base` is read at each call, so a
 * test may start its server in `beforeAll`.
 */
export function apiCaller(base: () => string) {
  return async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${base()}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        "content-type": "application/json",
      },
      // A string goes as it is (a JSONL or CSV import); anything else as JSON.
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {}
    return { status: res.status, json, text, type: res.headers.get("content-type") ?? "" };
  };
}
