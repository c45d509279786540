import { mkdirSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";

export interface LocalSmtp {
  url: string;
  received: { to: string[]; raw: string }[];
  stop(): Promise<void>;
}

/** An SMTP server on 127.0.0.1 that keeps every message (data-dir/mail/*.eml) for reading. */
export async function startSmtp(dataDir: string | undefined): Promise<LocalSmtp> {
  const mailDir = dataDir ? join(dataDir, "mail") : undefined;
  if (mailDir) mkdirSync(mailDir, { recursive: true, mode: 0o700 });
  const received: LocalSmtp["received"] = [];
  let seq = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const to = session.envelope.rcptTo.map((r) => r.address);
        received.push({ to, raw });
        if (mailDir) writeFileSync(join(mailDir, `${Date.now()}-${++seq}.eml`), raw, { mode: 0o600 });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
