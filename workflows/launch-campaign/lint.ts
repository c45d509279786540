export type AslState = Record<string, unknown> & {
  Type: string;
  ItemProcessor?: { States: Record<string, AslState>; ProcessorConfig?: { Mode?: string } };
};

function allStates(asl: { States: Record<string, AslState> }): [string, AslState][] {
  return Object.entries(asl.States).flatMap(([name, s]) => [
    [name, s] as [string, AslState],
    ...(s.ItemProcessor ? allStates(s.ItemProcessor) : []),
  ]);
}

/**
 * What the embedded interpreter cannot run (JSONata, Variables/Assign, Distributed Map, non-Lambda
 * tasks other than a child execution). The deployed workflow must not use it either, or the two runtimes would diverge.
 */
export function unsupportedFeatures(asl: {
  States: Record<string, AslState>;
  QueryLanguage?: string;
}): string[] {
  const problems: string[] = [];
  if (asl.QueryLanguage === "JSONata" || JSON.stringify(asl).includes('"QueryLanguage":"JSONata"'))
    problems.push("JSONata");
  for (const [name, s] of allStates(asl)) {
    if ("Assign" in s) problems.push(`${name}: Variables/Assign`);
    if ("Arguments" in s || "Output" in s) problems.push(`${name}: JSONata fields`);
    if (s.ItemProcessor?.ProcessorConfig?.Mode === "DISTRIBUTED") problems.push(`${name}: Distributed Map`);
    if ("ItemReader" in s || "ResultWriter" in s) problems.push(`${name}: Distributed Map I/O`);
    if (
      s.Type === "Task" &&
      typeof s.Resource === "string" &&
      !s.Resource.startsWith("arn:aws:lambda:") &&
      s.Resource !== "arn:aws:states:::states:startExecution.sync:2"
    )
      problems.push(`${name}: task ${s.Resource} (only Lambda and startExecution.sync:2 run locally)`);
  }
  return problems;
}
