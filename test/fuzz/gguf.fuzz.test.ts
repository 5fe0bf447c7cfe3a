/**
 * GGUF fuzz: mutates the shared real GGUF files (bit flips, byte sets, truncations, count and
 * length fields set to extremes, duplicated names and keys, broken UTF-8, moved offsets) and
 * parses each result in memory. Every outcome must be a valid header whose invariants hold, or a
 * LayerquantError (E_BAD_GGUF, or E_UNSUPPORTED for version/endianness) naming the file.
 * LQ_FUZZ_SEED / LQ_FUZZ_ITERATIONS / LQ_FUZZ_ONLY override the seed, the count per file, or run
 * one iteration.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ggmlTensorBytes, ggmlTypeInfo } from '../../lib/io/ggml-types.js';
import { parseGgufHeader } from '../../lib/io/gguf-read.js';
import type { GgufHeader } from '../../lib/io/gguf-types.js';
import { encodeGgufHeader } from '../../lib/io/gguf-write.js';
import { BABY_GGUF, STORIES_GGUF } from '../unit/io-helpers.js';
import { fuzzSettings, iterationRng, reproduce, unexpectedError } from './fuzz-helpers.js';
import { Mutator, mapFields, mutate } from './gguf-mutate.js';

/** Invariants of a successful parse; returns a description of the first violation. */
function checkHeader(h: GgufHeader, bytes: Uint8Array): string | undefined {
  if (h.version !== 2 && h.version !== 3) return `version ${h.version}`;
  const a = h.alignment;
  if (!Number.isInteger(a) || a <= 0 || (a & (a - 1)) !== 0) return `alignment ${a}`;
  if (h.dataOffset % a !== 0) return `dataOffset ${h.dataOffset} not aligned`;
  const keys = new Set(h.kv.map((e) => e.key));
  if (keys.size !== h.kv.length) return 'duplicate keys';
  const names = new Set(h.tensors.map((t) => t.name));
  if (names.size !== h.tensors.length) return 'duplicate tensor names';
  for (const t of h.tensors) {
    if (t.dims.length < 1 || t.dims.length > 4 || t.dims.some((d) => !Number.isSafeInteger(d) || d <= 0)) return `dims of ${t.name}`;
    if (!ggmlTypeInfo(t.type)) return `type of ${t.name}`;
    if (t.byteLength !== ggmlTensorBytes(t.type, t.dims)) return `byteLength of ${t.name}`;
    if (t.offset % a !== 0) return `offset of ${t.name} not aligned`;
    const end = h.dataOffset + t.offset + t.byteLength;
    if (!(t.offset >= 0 && end <= bytes.length)) return `data of ${t.name} outside the file`;
  }
  const sorted = [...h.tensors].sort((x, y) => x.offset - y.offset);
  for (let i = 1; i < sorted.length; i++) if (sorted[i - 1]!.offset + sorted[i - 1]!.byteLength > sorted[i]!.offset) return 'overlap';
  // Re-encoding what we parsed reproduces the header bytes (NaN payloads aside: JS canonicalizes them).
  const enc = encodeGgufHeader(h.kv, h.tensors, 1);
  if (h.version === 2) enc[4] = 2;
  if (enc.length > bytes.length || Buffer.compare(enc, Buffer.from(bytes.buffer, bytes.byteOffset, enc.length)) !== 0) {
    const hasNaN = JSON.stringify(h.kv, (_k, v: unknown) => (typeof v === 'bigint' ? 0 : typeof v === 'number' && Number.isNaN(v) ? 'NaN!' : v)).includes('NaN!');
    if (!hasNaN) return 're-encoded header differs from the input';
  }
  return undefined;
}

describe('GGUF fuzz', () => {
  const { seed, iterations, only } = fuzzSettings(10_000);
  for (const [fileIndex, path] of [STORIES_GGUF, BABY_GGUF].entries()) {
    const label = path.split('/').pop()!;
    it(`${label}: ${only ?? iterations} mutations give only typed errors or valid headers`, () => {
      console.log(`GGUF fuzz ${label}: seed ${seed} (LQ_FUZZ_SEED=${seed} to replay)`);
      const buf = Buffer.from(readFileSync(path));
      const map = mapFields(buf);
      const m = new Mutator(buf);
      const outcomes = { ok: 0, bad: 0, unsupported: 0 };
      const codes = new Map<string, number>();
      let slowest = 0;
      const t0 = performance.now();
      const first = only ?? 0;
      const last = only ?? iterations - 1;
      for (let i = first; i <= last; i++) {
        const rng = iterationRng((seed + fileIndex * 0x9e3779b9) >>> 0, i);
        let length = buf.length;
        const ops = 1 + (rng.chance(0.3) ? rng.int(3) : 0);
        for (let k = 0; k < ops; k++) {
          const cut = mutate(m, map, rng);
          if (cut !== undefined) length = Math.min(length, cut);
        }
        const bytes = buf.subarray(0, length);
        const t = performance.now();
        let problem: string | undefined;
        try {
          const h = parseGgufHeader(bytes, label);
          problem = checkHeader(h, bytes);
          outcomes.ok++;
        } catch (err) {
          problem = unexpectedError(err, ['E_BAD_GGUF', 'E_UNSUPPORTED'], label);
          if ((err as { code?: string }).code === 'E_UNSUPPORTED') outcomes.unsupported++;
          else outcomes.bad++;
          const key = String((err as Error).message).replace(/^[^:]*: /, '').replace(/\d+/g, 'N').replace(/"[^"]*"/g, 'S').slice(0, 60);
          codes.set(key, (codes.get(key) ?? 0) + 1);
        }
        const dt = performance.now() - t;
        slowest = Math.max(slowest, dt);
        if (dt > 1000) problem ??= `parse took ${dt.toFixed(0)} ms`;
        if (problem) expect.fail(reproduce('GGUF', seed, i, m.log, problem));
        m.restore();
      }
      const total = performance.now() - t0;
      console.log(
        `GGUF fuzz ${label}: ${last - first + 1} mutations in ${(total / 1000).toFixed(1)} s ` +
          `(valid ${outcomes.ok}, E_BAD_GGUF ${outcomes.bad}, E_UNSUPPORTED ${outcomes.unsupported}; slowest parse ${slowest.toFixed(1)} ms; ` +
          `${codes.size} distinct error kinds)`,
      );
      if (process.env.LQ_FUZZ_VERBOSE) console.log([...codes].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${n}\t${k}`).join('\n'));
      expect(Buffer.compare(buf, readFileSync(path))).toBe(0); // every mutation was undone
    });
  }
});
