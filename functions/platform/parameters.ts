import type { SSMClient } from "@aws-sdk/client-ssm";
import { Env } from "./env.ts";

/**
 * Deploy-time settings in SSM Parameter Store. CDK writes each parameter from the typed deployment
 * config (infra/deployment.ts): a JSON object whose keys are the functions' setting names
 * (`TIERCAST_CONFIG`, `SES_FROM`, …; TIERCAST_CONFIG may be an object). A function's environment
 * carries only the parameters' names (TIERCAST_PARAMETERS); the values are read once per container,
 * at its first invocation, with one GetParameters call.
 */
export interface ParameterSource {
  /** The settings the parameters hold, merged in order (a later parameter wins). */
  load(): Promise<Record<string, string>>;
}

const KNOWN = new Set(Object.keys(Env.shape));

/** Parses one parameter's value, naming the parameter and the setting in every problem. */
export function parseParameter(name: string, value: string | undefined): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(value ?? "");
  } catch {
    throw new Error(`parameter ${name}: not JSON`);
  }
  if (!json || typeof json !== "object" || Array.isArray(json))
    throw new Error(`parameter ${name}: must be a JSON object of settings`);
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const [key, v] of Object.entries(json)) {
    if (!KNOWN.has(key)) problems.push(`${key}: not a setting`);
    else if (typeof v === "string") out[key] = v;
    else if (key === "TIERCAST_CONFIG" && v && typeof v === "object") out[key] = JSON.stringify(v);
    else problems.push(`${key}: must be a string`);
  }
  if (problems.length) throw new Error(`parameter ${name}: ${problems.join("; ")}`);
  return out;
}

/**
 * The parameters named in TIERCAST_PARAMETERS (comma-separated). A read that fails is not kept: the
 * next invocation reads again, instead of the container failing every invocation after one error.
 */
export function ssmParameters(names: string[], client?: () => Promise<SSMClient>): ParameterSource {
  let loading: Promise<Record<string, string>> | undefined;
  async function read() {
    const ssm = await import("@aws-sdk/client-ssm");
    const c = client ? await client() : new ssm.SSMClient({});
    const out = await c.send(new ssm.GetParametersCommand({ Names: names }));
    if (out.InvalidParameters?.length)
      throw new Error(`parameter(s) not found: ${out.InvalidParameters.join(", ")}`);
    const byName = new Map((out.Parameters ?? []).map((p) => [p.Name, p.Value]));
    const merged: Record<string, string> = {};
    for (const name of names) {
      if (!byName.has(name)) throw new Error(`parameter ${name}: not returned`);
      Object.assign(merged, parseParameter(name, byName.get(name)));
    }
    return merged;
  }
  return {
    load() {
      loading ??= read().catch((err: unknown) => {
        loading = undefined;
        throw err;
      });
      return loading;
    },
  };
}

/** TIERCAST_PARAMETERS split into names (empty: no parameters). */
export const parameterNames = (raw: string | undefined) =>
  (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
