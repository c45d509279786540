import { TiercastError } from "#platform/errors.ts";

export interface GlobalOptions {
  dataDir: string;
  json?: boolean;
  at?: string;
  config?: string;
}

/** `--json` prints exactly one JSON document on stdout; otherwise the human text. */
export function emit(options: Pick<GlobalOptions, "json">, value: unknown, human: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(value)}\n`);
  else process.stdout.write(`${human()}\n`);
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const width = (s: string) => [...s].reduce((w, ch) => w + (/[\u1100-\uffdc]/.test(ch) ? 2 : 1), 0);
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => width(r[i] ?? ""))));
  const line = (r: string[]) =>
    r
      .map((c, i) =>
        i === 0 ? c + " ".repeat(widths[i]! - width(c)) : " ".repeat(widths[i]! - width(c)) + c,
      )
      .join("  ");
  return [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join(
    "\n",
  );
}

export function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * Progress goes to stderr for a person at a terminal: off under --json and when stderr is not a TTY
 * (pipes, CI logs), unless TIERCAST_PROGRESS=1 (on) or 0 (off) says otherwise.
 */
export function progressEnabled(options: Pick<GlobalOptions, "json">): boolean {
  if (options.json) return false;
  const forced = process.env.TIERCAST_PROGRESS;
  if (forced === "1" || forced === "0") return forced === "1";
  return Boolean(process.stderr.isTTY);
}

/**
 * A status line for a long command whose total is unknown: `poll` describes where it is, every
 * second, redrawn in place on a terminal (a line each time otherwise); `stop` prints the last state.
 */
export function ticker(enabled: boolean, label: string, poll: () => Promise<string>, everyMs = 1_000) {
  if (!enabled) return async () => {};
  const tty = process.stderr.isTTY;
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  let busy = false;
  const draw = async () => {
    if (busy) return;
    busy = true;
    try {
      const text = await poll();
      process.stderr.write(
        tty ? `\r\x1b[K${label}: ${text} (${elapsed()})` : `${label}: ${text} (${elapsed()})\n`,
      );
    } catch {
      // A status read that fails (the runtime stopping) must not fail the command it describes.
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(draw, everyMs);
  void draw();
  return async () => {
    clearInterval(timer);
    const text = await poll().catch(() => "");
    process.stderr.write(
      `${tty ? "\r\x1b[K" : ""}${label}: ${text ? `${text}, ` : ""}done in ${elapsed()}\n`,
    );
  };
}

/** A progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise. */
export function progress(label: string, total: number | undefined) {
  const tty = process.stderr.isTTY;
  let lastDecile = -1;
  const started = performance.now();
  return {
    update(done: number) {
      const pct = total ? Math.min(100, Math.floor((done / total) * 100)) : 0;
      if (tty) {
        const filled = Math.round(pct / 4);
        process.stderr.write(
          `\r${label} [${"#".repeat(filled)}${".".repeat(25 - filled)}] ${pct}% ${fmt(done)}`,
        );
      } else if (Math.floor(pct / 10) > lastDecile) {
        lastDecile = Math.floor(pct / 10);
        process.stderr.write(`${label} ${pct}% (${fmt(done)})\n`);
      }
    },
    done(message: string) {
      const seconds = (performance.now() - started) / 1000;
      process.stderr.write(`${tty ? "\r\x1b[K" : ""}${label}: ${message} in ${seconds.toFixed(1)} s\n`);
      return seconds;
    },
  };
}

export function failureMessage(err: unknown): {
  message: string;
  exitCode: number;
  code: string;
  problems?: string[];
} {
  if (err instanceof TiercastError) {
    const problems = (err as { problems?: string[] }).problems;
    return {
      message: err.message,
      exitCode: err.exitCode,
      code: err.code,
      ...(problems ? { problems } : {}),
    };
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === "ENOENT")
    return { message: `file not found: ${e.path ?? ""}`.trim(), exitCode: 2, code: "not_found" };
  if (e?.code === "EACCES")
    return { message: `permission denied: ${e.path ?? ""}`.trim(), exitCode: 2, code: "forbidden" };
  if (e?.code === "EISDIR")
    return { message: "expected a file but found a directory", exitCode: 2, code: "bad_input" };
  return { message: (e?.message ?? String(err)).split("\n")[0]!, exitCode: 1, code: "failed" };
}
