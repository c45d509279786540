/** Placeholder ARNs in the committed ASL; the embedded runtime binds each to a local handler. */
export const LOCAL_ARN_PREFIX = "arn:aws:lambda:us-east-1:000000000000:function:tiercast-";
/** The shard workflow's placeholder ARN in the committed launch ASL (the embedded runtime runs it locally). */
export const LOCAL_SHARD_MACHINE_ARN =
  "arn:aws:states:us-east-1:000000000000:stateMachine:tiercast-launch-shard";
