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
import { GgufType, type GgufHeader } from '../../lib/io/gguf-types.js';
import { encodeGgufHeader } from '../../lib/io/gguf-write.js';
import { BABY_GGUF, STORIES_GGUF } from '../unit/io-helpers.js';
import { fuzzSettings, iterationRng, reproduce, unexpectedError, type Rng } from './fuzz-helpers.js';

type FieldKind = 'version' | 'count' | 'strlen' | 'vtype' | 'itemtype' | 'arrcount' | 'ndims' | 'dim' | 'ttype' | 'offset' | 'scalar';
interface Field {
  pos: number;
  size: 1 | 2 | 4 | 8;
  kind: FieldKind;
}
interface FileMap {
  fields: Field[];
  /** [start, length] of every string's bytes. */
  strings: [number, number][];
  /** Key strings and tensor names as [pos, length] (for duplication). */
  keys: [number, number][];
  names: [number, number][];
  offsets: number[];
  headerEnd: number;
}

/** Walks a valid GGUF file and records where each field is. */
function mapFields(b: Buffer): FileMap {
  const fields: Field[] = [{ pos: 4, size: 4, kind: 'version' }, { pos: 8, size: 8, kind: 'count' }, { pos: 16, size: 8, kind: 'count' }];
  const strings: [number, number][] = [];
  const keys: [number, number][] = [];
  const names: [number, number][] = [];
  const offsets: number[] = [];
  let p = 24;
  const str = (): [number, number] => {
    fields.push({ pos: p, size: 8, kind: 'strlen' });
    const n = Number(b.readBigUInt64LE(p));
    const s: [number, number] = [p + 8, n];
    strings.push(s);
    p += 8 + n;
    return s;
  };
  const sizes: Record<number, 1 | 2 | 4 | 8> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (t: number): void => {
    if (t === GgufType.STRING) str();
    else if (t === GgufType.ARRAY) {
      fields.push({ pos: p, size: 4, kind: 'itemtype' });
      const it = b.readUInt32LE(p);
      fields.push({ pos: p + 4, size: 8, kind: 'arrcount' });
      const n = Number(b.readBigUInt64LE(p + 4));
      p += 12;
      for (let i = 0; i < n; i++) value(it);
    } else {
      if (fields.length < 4000) fields.push({ pos: p, size: sizes[t]!, kind: 'scalar' });
      p += sizes[t]!;
    }
  };
  const nT = Number(b.readBigUInt64LE(8));
  const nKv = Number(b.readBigUInt64LE(16));
  for (let i = 0; i < nKv; i++) {
    keys.push(str());
    fields.push({ pos: p, size: 4, kind: 'vtype' });
    const t = b.readUInt32LE(p);
    p += 4;
    value(t);
  }
  for (let i = 0; i < nT; i++) {
    names.push(str());
    fields.push({ pos: p, size: 4, kind: 'ndims' });
    const nd = b.readUInt32LE(p);
    p += 4;
    for (let d = 0; d < nd; d++, p += 8) fields.push({ pos: p, size: 8, kind: 'dim' });
    fields.push({ pos: p, size: 4, kind: 'ttype' });
    p += 4;
    fields.push({ pos: p, size: 8, kind: 'offset' });
    offsets.push(p);
    p += 8;
  }
  return { fields, strings, keys, names, offsets, headerEnd: p };
}

const U64_EXTREMES = [0n, 1n, 2n, 31n, 32n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 1n << 53n, 1n << 60n, (1n << 63n) - 1n, 1n << 63n, 0xffffffffffffffffn];
const U32_EXTREMES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 15, 30, 31, 39, 43, 0x7fffffff, 0x80000000, 0xffffffff];

/** A buffer mutated in place that remembers how to undo itself. */
class Mutator {
  private undo: [number, Uint8Array][] = [];
  log: string[] = [];
  constructor(readonly buf: Buffer) {}
  save(pos: number, n: number): void {
    this.undo.push([pos, Uint8Array.prototype.slice.call(this.buf, pos, pos + n)]);
  }
  restore(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.buf.set(this.undo[i]![1], this.undo[i]![0]);
    this.undo = [];
    this.log = [];
  }
  setField(f: Field, v: bigint): void {
    this.save(f.pos, f.size);
    const mask = (1n << BigInt(8 * f.size)) - 1n;
    const x = v & mask;
    for (let i = 0; i < f.size; i++) this.buf[f.pos + i] = Number((x >> BigInt(8 * i)) & 0xffn);
  }
  readField(f: Field): bigint {
    let x = 0n;
    for (let i = f.size - 1; i >= 0; i--) x = (x << 8n) | BigInt(this.buf[f.pos + i]!);
    return x;
  }
}

/** Applies one random mutation; returns a truncation length when it chose to truncate. */
function mutate(m: Mutator, map: FileMap, rng: Rng): number | undefined {
  const b = m.buf;
  const headerPos = (): number => (rng.chance(0.9) ? rng.int(map.headerEnd + 64) : rng.int(b.length));
  switch (rng.int(11)) {
    case 0: {
      const n = 1 + rng.int(4);
      for (let k = 0; k < n; k++) {
        const pos = headerPos();
        const bit = rng.int(8);
        m.save(pos, 1);
        b[pos]! ^= 1 << bit;
        m.log.push(`flip bit ${bit} of byte ${pos}`);
      }
      return undefined;
    }
    case 1: {
      const pos = headerPos();
      const v = rng.pick([0, 0xff, 0x80, 0x7f, rng.int(256)]);
      m.save(pos, 1);
      b[pos] = v;
      m.log.push(`byte ${pos} = ${v}`);
      return undefined;
    }
    case 2:
    case 3:
    case 4: {
      // A structural field set to an extreme or a nearby value.
      const f = rng.chance(0.3) ? rng.pick(map.fields.filter((x) => x.kind !== 'scalar').slice(0, 64)) : rng.pick(map.fields);
      const old = m.readField(f);
      const extremes = f.size === 8 ? U64_EXTREMES : f.size === 4 ? U32_EXTREMES.map(BigInt) : [0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0xffffn];
      const v = rng.chance(0.6) ? rng.pick(extremes) : rng.pick([old + 1n, old - 1n, old * 2n, old + 32n, old + BigInt(rng.int(1 << 20)), rng.u64()]);
      m.setField(f, v);
      m.log.push(`${f.kind} at ${f.pos} (${f.size} bytes) ${old} -> ${v & ((1n << BigInt(8 * f.size)) - 1n)}`);
      return undefined;
    }
    case 5: {
      const n = rng.chance(0.8) ? rng.int(map.headerEnd + 64) : rng.int(b.length);
      m.log.push(`truncate to ${n}`);
      return n;
    }
    case 6: {
      // Broken UTF-8 inside a string (key, value or tensor name).
      const [start, len] = rng.pick(map.strings.filter((s) => s[1] > 0));
      const pos = start + rng.int(len);
      const seq = rng.pick([[0x80], [0xc0], [0xff], [0xed, 0xa0], [0xf8], [0xc3]]);
      const k = Math.min(seq.length, start + len - pos);
      m.save(pos, k);
      for (let i = 0; i < k; i++) b[pos + i] = seq[i]!;
      m.log.push(`utf8 ${seq.map((x) => x.toString(16)).join(' ')} at ${pos}`);
      return undefined;
    }
    case 7: {
      // Copy one key or tensor name over another of the same length: duplicates.
      const list = rng.chance(0.5) ? map.keys : map.names;
      const [s, len] = rng.pick(list);
      const same = list.filter((x) => x[1] === len && x[0] !== s);
      if (same.length === 0) return undefined;
      const [d] = rng.pick(same);
      m.save(d, len);
      b.copy(b, d, s, s + len);
      m.log.push(`copy string ${s}+${len} over ${d}`);
      return undefined;
    }
    case 8: {
      // Move a tensor's data offset onto another's, or off alignment.
      const i = rng.int(map.offsets.length);
      const j = rng.int(map.offsets.length);
      const f: Field = { pos: map.offsets[i]!, size: 8, kind: 'offset' };
      const other = m.readField({ pos: map.offsets[j]!, size: 8, kind: 'offset' });
      const v = rng.pick([other, other + 1n, other + 32n, other - 32n, m.readField(f) + BigInt(1 + rng.int(31))]);
      m.setField(f, v);
      m.log.push(`tensor ${i} offset -> ${v} (tensor ${j} has ${other})`);
      return undefined;
    }
    case 9: {
      // Version and magic: other versions, v1, big-endian layouts, a damaged magic.
      if (rng.chance(0.8)) {
        const v = rng.pick([0, 1, 2, 3, 4, 0x03000000, 0x02000000, 0x01000000, 0xffffffff]);
        m.save(4, 4);
        b.writeUInt32LE(v, 4);
        m.log.push(`version ${v}`);
      } else {
        m.save(0, 4);
        b.write(rng.pick(['GGUG', 'FUGG', 'GGML', '\0\0\0\0']), 0, 'latin1');
        m.log.push('magic damaged');
      }
      return undefined;
    }
    default: {
      // Rename a 17-byte key to general.alignment (e.g. llama.block_count), optionally with a new value.
      const cand = map.keys.filter((k) => k[1] === 17);
      if (cand.length === 0) return undefined;
      const [s] = rng.pick(cand);
      m.save(s, 17);
      b.write('general.alignment', s, 'latin1');
      m.log.push(`key at ${s} -> general.alignment`);
      const typeAt = s + 17;
      if (b.readUInt32LE(typeAt) === GgufType.UINT32 && rng.chance(0.7)) {
        const v = rng.pick([1, 2, 16, 32, 64, 4096, 3, 0, 48, 0x80000000]);
        m.save(typeAt + 4, 4);
        b.writeUInt32LE(v, typeAt + 4);
        m.log.push(`alignment value ${v}`);
      }
      return undefined;
    }
  }
}

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
