import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { ClientOptions } from "#platform/clients.ts";
import type { ObjectStore } from "./job.ts";

/**
 * Import files in S3. Given an endpoint (a local S3-compatible server), path-style addressing, since
 * a local server has no per-bucket host names.
 */
export function s3Client(endpoint?: string, options: Omit<ClientOptions, "endpoint"> = {}): S3Client {
  return new S3Client({ ...options, ...(endpoint ? { endpoint, forcePathStyle: true } : {}) });
}

export function s3Objects(bucket: string, s3: S3Client): ObjectStore {
  return {
    async size(key) {
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return head.ContentLength ?? 0;
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404)
          return undefined;
        throw err;
      }
    },
    async *read(key, start) {
      const out = await s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(start > 0 ? { Range: `bytes=${start}-` } : {}),
        }),
      );
      if (!out.Body) return;
      yield* out.Body as AsyncIterable<Uint8Array>;
    },
    async uploadUrl(key, seconds) {
      const { expiration } = await s3.config.credentials();
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key }), {
        expiresIn: seconds,
      });
      return { url, ...(expiration ? { signedUntil: expiration } : {}) };
    },
  };
}
