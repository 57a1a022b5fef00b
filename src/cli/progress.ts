/**
 * A progress bar on stderr for long jobs: redrawn in place on a terminal, a line every few
 * seconds otherwise (logs, CI), with rate and time left.
 */
export interface ProgressBar {
  update(done: number, extra?: string): void;
  finish(extra?: string): void;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function progressBar(label: string, total: number, opts: { stream?: NodeJS.WriteStream; unit?: string; startAt?: number; quiet?: boolean } = {}): ProgressBar {
  const stream = opts.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const unit = opts.unit ?? 'it';
  const t0 = Date.now();
  const base = opts.startAt ?? 0;
  let lastPrint = 0;
  let lastDone = base;
  const line = (done: number, extra: string): string => {
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const el = (Date.now() - t0) / 1000;
    const rate = el > 0 ? (done - base) / el : 0;
    const eta = rate > 0 ? (total - done) / rate : NaN;
    const width = 24;
    const fill = Math.round(frac * width);
    const bar = '#'.repeat(fill) + '.'.repeat(width - fill);
    return `${label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} ${rate.toFixed(1)} ${unit}/s ${done >= total ? `in ${fmtTime(el)}` : `ETA ${fmtTime(eta)}`}${extra ? ' ' + extra : ''}`;
  };
  return {
    update(done: number, extra = ''): void {
      lastDone = done;
      if (opts.quiet) return;
      const now = Date.now();
      if (tty) {
        if (now - lastPrint < 100 && done < total) return;
        stream.write('\r' + line(done, extra).padEnd(stream.columns ? Math.min(stream.columns - 1, 120) : 100).slice(0, stream.columns ? stream.columns - 1 : 200));
      } else {
        if (now - lastPrint < 5000 && done < total) return;
        stream.write(line(done, extra) + '\n');
      }
      lastPrint = now;
    },
    finish(extra = ''): void {
      if (opts.quiet) return;
      if (tty) stream.write('\r' + line(lastDone, extra) + '\n');
      else if (Date.now() - lastPrint > 0) stream.write(line(lastDone, extra) + '\n');
    },
  };
}
