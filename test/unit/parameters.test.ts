import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { lambdaSettings } from "#functions/app.ts";
import { Env } from "#platform/env.ts";
import { parameterNames, parseParameter, ssmParameters } from "#platform/parameters.ts";

// The loader with the SDK client mocked (no local server speaks SSM).
const ssm = mockClient(SSMClient);
const client = async () => new SSMClient({ region: "ap-southeast-1" });
const names = ["/tiercast/prod/config", "/tiercast/prod/providers"];
const config = {
  email: { from: "marketing@mail.bank.example", unsubscribeBaseUrl: "https://go.bank.example/u" },
  tracking: { baseUrl: "https://go.bank.example" },
};
const found = {
  Parameters: [
    { Name: names[1], Value: JSON.stringify({ SES_FROM: "marketing@mail.bank.example" }) },
    { Name: names[0], Value: JSON.stringify({ TIERCAST_CONFIG: config }) },
  ],
  InvalidParameters: [],
};
const env = Env.parse({
  TABLE_NAME: "t",
  TIERCAST_SECRET: "x".repeat(32),
  TIERCAST_PARAMETERS: names.join(","),
});

beforeEach(() => ssm.reset());

describe("deploy-time settings from SSM", () => {
  it("reads every named parameter in one call and merges them into the function's settings", async () => {
    ssm.on(GetParametersCommand).resolves(found);
    const settings = await lambdaSettings(env, ssmParameters(names, client));
    expect(ssm.commandCalls(GetParametersCommand).map((c) => c.args[0].input)).toEqual([{ Names: names }]);
    expect(settings.config.tracking.baseUrl).toBe("https://go.bank.example");
    expect(settings.config.email.from).toBe("marketing@mail.bank.example");
    expect(settings.email.sesFrom).toBe("marketing@mail.bank.example");
    expect(settings.tableName).toBe("t");
  });

  it("reads once per container", async () => {
    ssm.on(GetParametersCommand).resolves(found);
    const source = ssmParameters(names, client);
    await source.load();
    await source.load();
    expect(ssm.commandCalls(GetParametersCommand)).toHaveLength(1);
  });

  it("does not keep a failed read: the next invocation reads again", async () => {
    ssm
      .on(GetParametersCommand)
      .rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }))
      .resolves(found);
    const source = ssmParameters(names, client);
    await expect(source.load()).rejects.toThrow(/Rate exceeded/);
    await expect(source.load()).resolves.toMatchObject({ SES_FROM: "marketing@mail.bank.example" });
    expect(ssm.commandCalls(GetParametersCommand)).toHaveLength(2);
  });

  it("fails clearly on a missing parameter, and reads again next time", async () => {
    ssm
      .on(GetParametersCommand)
      .resolvesOnce({ Parameters: [], InvalidParameters: [names[1]!] })
      .resolves(found);
    const source = ssmParameters(names, client);
    await expect(source.load()).rejects.toThrow("parameter(s) not found: /tiercast/prod/providers");
    await expect(source.load()).resolves.toBeDefined();
  });

  it("refuses a value that is not the settings' JSON, naming the parameter and the setting", () => {
    expect(() => parseParameter("/p", "not json")).toThrow("parameter /p: not JSON");
    expect(() => parseParameter("/p", "[1]")).toThrow("parameter /p: must be a JSON object of settings");
    expect(() => parseParameter("/p", JSON.stringify({ SES_FORM: "a@b.c", SES_FROM: 1 }))).toThrow(
      "parameter /p: SES_FORM: not a setting; SES_FROM: must be a string",
    );
  });

  it("lets a parameter's value win over the environment (nobody sets those names by hand)", async () => {
    ssm.on(GetParametersCommand).resolves(found);
    const settings = await lambdaSettings(
      Env.parse({ ...env, SES_FROM: "hand-edited@example.com" }),
      ssmParameters(names, client),
    );
    expect(settings.email.sesFrom).toBe("marketing@mail.bank.example");
  });

  it("splits TIERCAST_PARAMETERS into names", () => {
    expect(parameterNames(" /a , /b,")).toEqual(["/a", "/b"]);
    expect(parameterNames(undefined)).toEqual([]);
  });
});
