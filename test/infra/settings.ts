import { fileURLToPath } from "node:url";
import { settingsFor } from "../../infra/settings.ts";

const example = (file: string) => fileURLToPath(new URL(`../../infra/deploy/${file}`, import.meta.url));

/** Settings as `cdk synth` would build them from the committed example deployment files. */
export function testSettings(env: "dev" | "prod", region?: string, extra: Record<string, string> = {}) {
  const china = region?.startsWith("cn-");
  return settingsFor(env, {
    deployment: example(china ? "example.cn.json" : "example.json"),
    ...(region ? { region } : {}),
    ...extra,
  });
}

type Templated = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/**
 * What a function runs with at its cold start: its environment with the SSM parameters it names
 * (TIERCAST_PARAMETERS) over it, read from the synthesized templates as the loader would from SSM.
 */
export function effectiveSettings(templates: Templated[], vars: Record<string, unknown>) {
  const parameters = new Map(
    templates.flatMap((t) =>
      Object.values(t.Resources ?? {})
        .filter((r) => r.Type === "AWS::SSM::Parameter")
        .map((r) => [String(r.Properties?.Name), String(r.Properties?.Value)] as const),
    ),
  );
  const names = String(vars.TIERCAST_PARAMETERS ?? "")
    .split(",")
    .filter(Boolean);
  const merged: Record<string, unknown> = { ...vars };
  for (const name of names) {
    const value = parameters.get(name);
    if (value === undefined) throw new Error(`no parameter ${name} in the templates`);
    for (const [k, v] of Object.entries(JSON.parse(value) as Record<string, unknown>))
      merged[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return merged;
}
