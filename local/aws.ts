/** The embedded runtime's servers take any credentials; a region keeps the SDK from looking for one. */
export const LOCAL_AWS = {
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
} as const;
