/** Placeholder ARNs in the committed ASL; the embedded runtime binds each to a local handler. */
export const LOCAL_ARN_PREFIX = "arn:aws:lambda:us-east-1:000000000000:function:tiercast-";
