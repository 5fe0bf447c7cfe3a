/**
 * Block importance scores for the planner: from the importance module (`--method lim|zd`), or
 * given directly (`--scores 0.1,0.5,…` or a JSON file with an array or `{ "scores": [...] }`).
 * Scores are oriented so that higher = more important (LIM: −mean cos; ZD: −ZD share).
 */
import { existsSync, readFileSync } from 'node:fs';
import { LayerquantError } from '../errors.js';
import { lim, type LimOptions } from '../importance/lim.js';
import type { ImportanceResult } from '../importance/types.js';
import { zd } from '../importance/zd.js';
import type { ModelDescription } from '../model/types.js';

/** Parses `--scores`: a comma-separated list of numbers, or a path to a JSON file. */
export function parseScores(text: string): number[] {
  const t = text.trim();
  let values: unknown;
  if (/^[-+0-9.eE,\s]+$/.test(t) && !existsSync(t)) {
    values = t.split(',').map((x) => Number(x.trim()));
  } else {
    let raw: string;
    try {
      raw = readFileSync(t, 'utf8');
    } catch (cause) {
      throw new LayerquantError('E_NOT_FOUND', 'Could not read the scores file', { file: t, cause });
    }
    try {
      const data = JSON.parse(raw) as unknown;
      values = Array.isArray(data) ? data : (data as { scores?: unknown })?.scores;
    } catch (cause) {
      throw new LayerquantError('E_BAD_ARGUMENT', 'The scores file is not valid JSON', { file: t, cause });
    }
  }
  if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new LayerquantError('E_BAD_ARGUMENT', `Expected --scores as numbers (one per block) but received "${text.slice(0, 80)}"`);
  }
  return values as number[];
}

/** Computes per-block importance (higher = more important) for a model with a method. */
export type ScoreProvider = (model: unknown, method: string, opts?: { signal?: AbortSignal; calib?: string }) => Promise<number[]>;

/**
 * The default provider: lib/importance's `lim` (forward pass over calibration text, the built-in
 * text unless `calib` is given) and `zd` (data-free).
 */
export const importanceProvider: ScoreProvider = async (model, method, opts = {}) => {
  if (method !== 'lim' && method !== 'zd') {
    throw new LayerquantError('E_BAD_ARGUMENT', `Expected --method lim, zd or none but received "${method}"`);
  }
  const m = model as ModelDescription;
  let r: ImportanceResult;
  if (method === 'zd') {
    r = await zd(m, opts.signal ? { signal: opts.signal } : {});
  } else {
    const o: LimOptions = {};
    if (opts.signal) o.signal = opts.signal;
    if (opts.calib !== undefined) o.text = opts.calib;
    r = await lim(m, o);
  }
  return [...r.blocks].sort((a, b) => a.index - b.index).map((b) => b.importance);
};

let provider: ScoreProvider | undefined = importanceProvider;

/** Installs the provider (the importance module registers itself; tests inject fakes). */
export function setScoreProvider(p: ScoreProvider | undefined): void {
  provider = p;
}

/** Scores `model` with `method` through the installed provider. */
export async function blockScores(model: unknown, method: string, opts: { signal?: AbortSignal; calib?: string } = {}): Promise<number[]> {
  if (!provider) {
    throw new LayerquantError('E_UNSUPPORTED', `Importance method "${method}" is not available in this build (no score provider); pass --scores or --method none`);
  }
  return provider(model, method, opts);
}
