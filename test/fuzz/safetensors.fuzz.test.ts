/**
 * Safetensors fuzz: mutates the shared stories260K model.safetensors (header-length lies, bit
 * flips and byte sets in the JSON, truncations, and JSON-aware edits: dtypes, shapes and offsets
 * set to extremes, overlaps, duplicate and broken keys, bad __metadata__) and parses each result
 * in memory. Every outcome must be a valid header whose invariants hold, or a LayerquantError
 * E_BAD_SAFETENSORS naming the file. LQ_FUZZ_SEED / LQ_FUZZ_ITERATIONS / LQ_FUZZ_ONLY as in the
 * GGUF fuzz.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSafetensorsHeader, type SafetensorsHeader } from '../../lib/io/safetensors.js';
import { STORIES_ST } from '../unit/io-helpers.js';
import { fuzzSettings, iterationRng, reproduce, unexpectedError } from './fuzz-helpers.js';
import { mutateSafetensors, safetensorsParts } from './safetensors-mutate.js';

const BITS: Record<string, number> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32, F64: 64, I64: 64, U64: 64, F4: 4, F6_E2M3: 6, F6_E3M2: 6, C64: 64,
};

function checkHeader(h: SafetensorsHeader, bytes: Uint8Array): string | undefined {
  if (!(h.dataOffset >= 10 && h.dataOffset <= bytes.length)) return `dataOffset ${h.dataOffset}`;
  const dataLength = bytes.length - h.dataOffset;
  const names = new Set(h.tensors.map((t) => t.name));
  if (names.size !== h.tensors.length) return 'duplicate names';
  for (const t of h.tensors) {
    const bits = BITS[t.dtype];
    if (bits === undefined) return `dtype ${t.dtype}`;
    if (!(Number.isSafeInteger(t.begin) && Number.isSafeInteger(t.end) && t.begin >= 0 && t.begin <= t.end && t.end <= dataLength)) return `offsets of ${t.name}`;
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) return `shape of ${t.name}`;
    if ((n * bits) / 8 !== t.end - t.begin) return `size of ${t.name}`;
  }
  const sorted = h.tensors.filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) if (sorted[i - 1]!.end > sorted[i]!.begin) return 'overlap';
  for (const v of Object.values(h.metadata)) if (typeof v !== 'string') return 'metadata value';
  return undefined;
}

describe('safetensors fuzz', () => {
  const { seed, iterations, only } = fuzzSettings(10_000);
  const label = 'model.safetensors';
  it(`${only ?? iterations} mutations of stories260K model.safetensors give only typed errors or valid headers`, () => {
    console.log(`safetensors fuzz: seed ${seed} (LQ_FUZZ_SEED=${seed} to replay)`);
    const orig = readFileSync(STORIES_ST);
    const buf = Buffer.from(orig);
    const parts = safetensorsParts(orig);
    const outcomes = { ok: 0, bad: 0 };
    const kinds = new Map<string, number>();
    let slowest = 0;
    const t0 = performance.now();
    const first = only ?? 0;
    const last = only ?? iterations - 1;
    for (let i = first; i <= last; i++) {
      const rng = iterationRng(seed, i);
      const log: string[] = [];
      const undo: [number, Uint8Array][] = [];
      const save = (pos: number, k: number): void => {
        undo.push([pos, Uint8Array.prototype.slice.call(buf, pos, pos + k)]);
      };
      const input = mutateSafetensors(buf, parts, rng, log, save);
      const t = performance.now();
      let problem: string | undefined;
      try {
        const h = parseSafetensorsHeader(input, label);
        problem = checkHeader(h, input);
        outcomes.ok++;
      } catch (err) {
        problem = unexpectedError(err, ['E_BAD_SAFETENSORS'], label);
        outcomes.bad++;
        const key = String((err as Error).message).replace(/^[^:]*: /, '').replace(/\d+/g, 'N').replace(/"[^"]*"/g, 'S').slice(0, 60);
        kinds.set(key, (kinds.get(key) ?? 0) + 1);
      }
      const dt = performance.now() - t;
      slowest = Math.max(slowest, dt);
      if (dt > 1000) problem ??= `parse took ${dt.toFixed(0)} ms`;
      if (problem) expect.fail(reproduce('safetensors', seed, i, log, problem));
      for (let k = undo.length - 1; k >= 0; k--) buf.set(undo[k]![1], undo[k]![0]);
    }
    const total = performance.now() - t0;
    console.log(
      `safetensors fuzz: ${last - first + 1} mutations in ${(total / 1000).toFixed(1)} s ` +
        `(valid ${outcomes.ok}, E_BAD_SAFETENSORS ${outcomes.bad}; slowest parse ${slowest.toFixed(1)} ms; ${kinds.size} distinct error kinds)`,
    );
    if (process.env.LQ_FUZZ_VERBOSE) console.log([...kinds].sort((x, y) => y[1] - x[1]).map(([k, c]) => `${c}\t${k}`).join('\n'));
    expect(Buffer.compare(buf, orig)).toBe(0);
  });
});
