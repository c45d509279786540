import { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { uploadExpiry } from "#functions/import/job.ts";
import { s3Objects } from "#functions/import/objects.ts";

const NOW = new Date("2027-03-02T02:00:00.000Z");

describe("an upload URL's advertised expiry", () => {
  it("is an hour away when the signing credentials outlive it", () => {
    expect(uploadExpiry(NOW).toISOString()).toBe("2027-03-02T03:00:00.000Z");
    expect(uploadExpiry(NOW, new Date("2027-03-02T09:00:00Z")).toISOString()).toBe(
      "2027-03-02T03:00:00.000Z",
    );
  });

  it("is when the signing credentials expire, if that comes first", () => {
    expect(uploadExpiry(NOW, new Date("2027-03-02T02:10:00Z")).toISOString()).toBe(
      "2027-03-02T02:10:00.000Z",
    );
  });

  it("takes the credentials' expiry from the client that signs", async () => {
    const expiration = new Date(Date.now() + 10 * 60_000);
    const s3 = new S3Client({
      region: "ap-southeast-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "t", expiration },
    });
    const upload = await s3Objects("imports", s3).uploadUrl("jobs/j-1.csv", 3600);
    expect(upload.url).toContain("X-Amz-Expires=3600");
    expect(upload.signedUntil?.getTime()).toBe(expiration.getTime());
    const permanent = new S3Client({
      region: "ap-southeast-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    });
    expect((await s3Objects("imports", permanent).uploadUrl("k", 60)).signedUntil).toBeUndefined();
  });
});
