/**
 * Block importance scores given directly (`--scores 0.1,0.5,…` or a JSON file with an array or
 * `{ "scores": [...] }`), higher = more important. Scores a method measures come from
 * lib/importance/rank.ts; the planner takes either as data.
 */
import { existsSync, readFileSync } from 'node:fs';
import { LayerquantError } from '../errors.js';

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
