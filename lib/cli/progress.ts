/**
 * Renders the library's progress events for people and tools: `auto` draws one bar with the
 * stage, the item and an ETA on stderr when it is a TTY (nothing otherwise); `json` prints every
 * event as one JSON line on stderr; `none` prints nothing.
 */
import type { ProgressEvent, ProgressListener } from '../progress.js';
import { UsageError } from './command.js';

/** The `--progress` modes. */
export type ProgressMode = 'auto' | 'json' | 'none';

/** Parses `--progress`. */
export function progressMode(v: unknown): ProgressMode {
  const m = v ?? 'auto';
  if (m === 'auto' || m === 'json' || m === 'none') return m;
  throw new UsageError(`--progress expects auto, json or none but received "${String(v)}"`);
}

function seconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** One bar line: `quantize [########      ] 57%  blk.3.ffn_up.weight  12.3s, ETA 9.2s`. */
export function progressLine(e: ProgressEvent, width = 24): string {
  const frac = e.total > 0 ? Math.min(1, e.done / e.total) : 0;
  const fill = Math.round(width * frac);
  const time = e.eta !== undefined ? `${seconds(e.elapsed)}, ETA ${seconds(e.eta)}` : seconds(e.elapsed);
  return `${e.stage} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${String(Math.floor(100 * frac)).padStart(3)}%  ${(e.item ?? '').padEnd(28).slice(0, 28)}  ${time}`;
}

/**
 * The listener for a mode. `write` receives text for stderr; `tty` says whether stderr is a
 * terminal. The bar redraws at most ten times a second and ends its line when a stage completes.
 */
export function progressRenderer(mode: ProgressMode, write: (text: string) => void, tty: boolean): ProgressListener | undefined {
  if (mode === 'none' || (mode === 'auto' && !tty)) return undefined;
  if (mode === 'json') return (e) => write(`${JSON.stringify(e)}\n`);
  let last = 0;
  return (e) => {
    const end = e.done >= e.total;
    const now = performance.now();
    if (!end && e.done > 0 && now - last < 100) return;
    last = now;
    write(`\r${progressLine(e).padEnd(100)}${end ? '\n' : ''}`);
  };
}

/**
 * A `(done, total, item?)` callback (the shape of perplexity's and convert's) as progress events
 * of `stage` counted in `unit`; the stage starts at the first call.
 */
export function stageCallback(listener: ProgressListener | undefined, stage: string, unit: string): ((done: number, total: number, item?: string) => void) | undefined {
  if (!listener) return undefined;
  let t0: number | undefined;
  return (done, total, item) => {
    t0 ??= performance.now();
    const elapsed = (performance.now() - t0) / 1000;
    const e: ProgressEvent = { stage, done, total, unit, elapsed };
    if (item !== undefined) e.item = item;
    if (done > 0 && total >= done) e.eta = (elapsed / done) * (total - done);
    listener(e);
  };
}
