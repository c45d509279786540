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
