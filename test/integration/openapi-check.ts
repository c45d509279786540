import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

/** One answer checked against the document: which operation it was, and what did not match. */
export interface Checked {
  method: string;
  path: string;
  status: number;
  operation: string | undefined;
  contentType: string;
  body: unknown;
  problems: string[];
}

interface Answer {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  bytes: Buffer;
}

type Json = Record<string, unknown>;
const BASE = "https://tiercast.invalid/openapi.json";

/**
 * The document's response schemas made strict for the test: an object with listed properties takes
 * no others (the document leaves objects open, as CONTRACT.md lets fields be added; a field the API
 * sends that the document does not name is a gap in the document, so it fails here).
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== "object") return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema as Json)) {
    if (k === "$ref" && typeof v === "string" && v.startsWith("#/")) out[k] = `${BASE}${v}`;
    else if (k === "properties" && v && typeof v === "object")
      out[k] = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, strict(s)]));
    else if (k === "example" || k === "examples") out[k] = v;
    else out[k] = strict(v);
  }
  if (out.type === "object" && out.properties && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}

const resolve = (doc: Json, ref: string): Json =>
  ref
    .slice(2)
    .split("/")
    .reduce<Json>((node, part) => node[part.replace(/~1/g, "/").replace(/~0/g, "~")] as Json, doc);

/** Checks answers against an OpenAPI 3.1 document: status, media type, body schema, documented headers. */
export async function documentChecker(doc: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: BASE, components: strict(doc.components) });
  const compiled = new Map<unknown, ValidateFunction>();
  const validatorOf = (schema: unknown) => {
    let v = compiled.get(schema);
    if (!v) {
      v = ajv.compile(strict(schema) as Json);
      compiled.set(schema, v);
    }
    return v;
  };

  const paths = doc.paths as Record<string, Record<string, Json>>;
  const templates = Object.keys(paths)
    .map((template) => ({
      template,
      regex: new RegExp(
        `^${template
          .split(/(\{\w+\})/)
          .map((part) => (/^\{\w+\}$/.test(part) ? "([^/]+)" : part.replace(/[.*+?^$()|[\]\\]/g, "\\$&")))
          .join("")}/?$`,
      ),
      literal: template.replace(/\{\w+\}/g, "").length,
    }))
    .sort((a, b) => b.literal - a.literal);
  const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];
  const operations = Object.entries(paths).flatMap(([p, item]) =>
    Object.keys(item)
      .filter((m) => METHODS.includes(m))
      .map((m) => `${m.toUpperCase()} ${p}`),
  );

  const responseOf = (r: Json): Json => (typeof r.$ref === "string" ? resolve(doc, r.$ref) : r);

  function check(answer: Answer): Checked {
    const problems: string[] = [];
    const pathname = answer.path.split("?")[0]!;
    const contentType = answer.headers.get("content-type") ?? "";
    const media = contentType.split(";")[0]!.trim();
    const text = answer.bytes.toString("utf8");
    let body: unknown = text;
    if (media === "application/json") {
      try {
        body = JSON.parse(text);
      } catch {
        problems.push(`a ${media} body that does not parse`);
      }
    }
    const matching = templates.filter((t) => t.regex.test(pathname));
    let operation: string | undefined;
    let response: Json | undefined;
    if (matching.length === 0) {
      response = responseOf({ $ref: "#/components/responses/NotFound" });
      if (answer.status !== 404) problems.push(`no documented path, yet status ${answer.status}`);
    } else {
      const withMethod = matching.find((t) => paths[t.template]![answer.method.toLowerCase()]);
      if (!withMethod) {
        response = responseOf({ $ref: "#/components/responses/MethodNotAllowed" });
        if (answer.status !== 405) problems.push(`an undocumented method answered ${answer.status}`);
        const allowed = Object.keys(paths[matching[0]!.template]!)
          .filter((m) => METHODS.includes(m))
          .map((m) => m.toUpperCase())
          .sort();
        const allow = (answer.headers.get("allow") ?? "").split(/,\s*/).sort();
        if (allow.join() !== allowed.join())
          problems.push(`Allow: ${allow.join()} but the document has ${allowed.join()}`);
      } else {
        operation = `${answer.method.toUpperCase()} ${withMethod.template}`;
        const op = paths[withMethod.template]![answer.method.toLowerCase()]!;
        const responses = op.responses as Record<string, Json>;
        const documented =
          responses[String(answer.status)] ?? responses[`${String(answer.status)[0]}XX`] ?? responses.default;
        if (!documented) {
          problems.push(
            `status ${answer.status} is not documented (documented: ${Object.keys(responses).join(", ")})`,
          );
        } else response = responseOf(documented);
      }
    }
    if (response) {
      const content = response.content as Record<string, Json> | undefined;
      if (!content) {
        if (answer.bytes.length > 0) problems.push(`a body (${media}) where the document has none`);
      } else if (!content[media]) {
        problems.push(`content type ${media || "(none)"}, documented: ${Object.keys(content).join(", ")}`);
      } else {
        const schema = content[media]!.schema;
        if (schema && (media === "application/json" || media.startsWith("text/"))) {
          const validate = validatorOf(schema);
          if (!validate(body))
            for (const e of validate.errors ?? [])
              problems.push(
                `body${e.instancePath} ${e.message}${e.params && "additionalProperty" in e.params ? `: ${String(e.params.additionalProperty)}` : ""}`,
              );
        }
      }
      const headers = (response.headers ?? {}) as Record<string, Json>;
      for (const [name, h] of Object.entries(headers)) {
        const header = responseOf(h);
        if (header.required && !answer.headers.has(name)) problems.push(`header ${name} is missing`);
      }
      for (const name of answer.headers.keys())
        if (
          (name.startsWith("x-") && name !== "x-content-type-options") ||
          name === "location" ||
          name === "content-disposition"
        )
          if (!Object.keys(headers).some((h) => h.toLowerCase() === name))
            problems.push(`header ${name} is not documented for ${answer.status}`);
    }
    return {
      method: answer.method,
      path: answer.path.slice(0, 200),
      status: answer.status,
      operation,
      contentType,
      body: typeof body === "string" ? body.slice(0, 300) : body,
      problems,
    };
  }
  return Object.assign(check, { operations });
}
