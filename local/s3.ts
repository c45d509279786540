import { mkdirSync } from "node:fs";
import { join } from "node:path";
import S3rver from "s3rver";

/**
 * The embedded runtime's S3: s3rver, a real S3-compatible HTTP server on 127.0.0.1 (objects on disk
 * under the data dir, or a temp dir). It accepts presigned URLs but does not verify their signatures;
 * S3 does.
 */
export async function startS3(directory: string, bucket: string) {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = (await server.run()) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => server.close() as Promise<void>,
  };
}

/** s3rver knows one key pair, and checks request signatures with it. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** The bucket of import uploads on the embedded runtime. */
export const LOCAL_IMPORT_BUCKET = "tiercast-imports";

export const localS3Dir = (dataDir: string) => join(dataDir, "s3");
