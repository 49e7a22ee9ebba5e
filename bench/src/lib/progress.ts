const started = Date.now();

/** Seconds since the benchmark started. */
export function elapsedS(): number {
  return (Date.now() - started) / 1000;
}

function clock(): string {
  const s = Math.floor(elapsedS());
  return `${String(Math.floor(s / 60)).padStart(3, ' ')}:${String(s % 60).padStart(2, '0')}`;
}

/** One progress line on stderr, prefixed by the elapsed time. */
export function progress(line: string): void {
  process.stderr.write(`[${clock()}] ${line}\n`);
}

/** A number with thousands separators. */
export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}
