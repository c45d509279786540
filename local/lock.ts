import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { TiercastError } from "#platform/errors.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * One process at a time owns a data dir (the on-disk store allows a single writer). A second
 * invocation waits for the first to finish, up to `waitMs`; a lock left by a dead process is taken over.
 */
export async function lockDataDir(dataDir: string, waitMs = 60_000): Promise<() => void> {
  const path = join(dataDir, ".lock");
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = Number(readFileSync(path, "utf8").trim() || "0");
    if (!owner || !alive(owner)) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new TiercastError(`the data dir ${dataDir} is in use by another tiercast process (pid ${owner})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
