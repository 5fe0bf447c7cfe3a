/**
 * Mutations of importance-matrix files as llama-imatrix writes them (GGUF: general.type, imatrix.*
 * metadata, `<weight>.in_sum2` and `<weight>.counts` F32 tensors; the legacy .dat), made on the
 * decoded content and encoded back without any validation, so they reach the checks behind the
 * container parsers: an entry renamed to a tensor the model lacks, to a 1-D one or to another
 * matrix, sums or counts lengthened, shortened, dropped or given another shape or type, NaN, ±Inf,
 * negative, fractional or huge values, zero counts, chunk metadata and datasets of odd values or
 * types, general.type changed, entries duplicated or all removed. The containers' own fields and
 * plain bytes are mutated by gguf-mutate and text-mutate.
 */
import { GgmlType } from '../../lib/io/ggml-types.js';
import { GgufType, type GgufKv } from '../../lib/io/gguf-types.js';
import { encodeGgufHeader } from '../../lib/io/gguf-write.js';
import type { Imatrix } from '../../lib/imatrix/types.js';
import type { Rng } from './fuzz-helpers.js';

/** An entry as stored: GGUF tensor shapes and types kept apart so they can disagree. */
interface RawEntry {
  name: string;
  sums?: { values: Float32Array; dims: number[]; type: number };
  counts?: { values: Float32Array; dims: number[]; type: number };
  /** .dat only: the call count (ncall). */
  ncall: number;
}
interface RawImatrix {
  kv: GgufKv[];
  entries: RawEntry[];
}

const ODD_VALUES = [NaN, Infinity, -Infinity, -1, -1e-30, 0, 0.5, 1e30, 3.4e38, 1e-45, -0];
const ODD_NAMES = ['blk.9.attn_q.weight', 'blk.0.attn_norm.weight', 'output_norm.weight', 'token_embd.weight', 'output.weight', 'blk.1.ffn_down.weight', 'blk.0.attn_q', '', 'w', 'blk.0.attn_q.weight.in_sum2', '💥', 'a'.repeat(300)];

/** The decoded form of `im` (a valid imatrix), as the GGUF writer lays it out. */
function raw(im: Imatrix, datasets: string[]): RawImatrix {
  const kv: GgufKv[] = [
    { key: 'general.type', type: GgufType.STRING, value: 'imatrix' },
    { key: 'imatrix.datasets', type: GgufType.ARRAY, value: { itemType: GgufType.STRING, items: [...datasets] } },
    { key: 'imatrix.chunk_count', type: GgufType.UINT32, value: im.chunkCount },
    { key: 'imatrix.chunk_size', type: GgufType.UINT32, value: im.chunkSize },
  ];
  const entries: RawEntry[] = [...im.entries].map(([name, e]) => {
    const nMat = e.counts.length;
    const nCols = e.sums.length / nMat;
    return {
      name,
      sums: { values: Float32Array.from(e.sums), dims: nMat > 1 ? [nCols, nMat] : [nCols], type: GgmlType.F32 },
      counts: { values: Float32Array.from(e.counts), dims: nMat > 1 ? [1, nMat] : [1], type: GgmlType.F32 },
      ncall: Math.max(1, Math.ceil(Math.max(...e.counts) / Math.max(1, im.chunkSize))),
    };
  });
  return { kv, entries };
}

function resized(a: Float32Array, n: number, r: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = i < a.length ? a[i]! : a.length ? a[r.int(a.length)]! : 1;
  return out;
}

/** One semantic edit of `m` (in place). */
function edit(m: RawImatrix, r: Rng, log: string[], dat: boolean): void {
  const e = m.entries.length ? r.pick(m.entries) : undefined;
  switch (r.int(dat ? 9 : 13)) {
    case 0:
      if (e) {
        const to = r.chance(0.5) ? r.pick(ODD_NAMES) : r.pick(m.entries).name;
        log.push(`entry ${e.name} renamed ${JSON.stringify(to.slice(0, 40))}`);
        e.name = to;
      }
      break;
    case 1: {
      // NaN, ±Inf, negative, fractional or huge values in sums or counts.
      if (!e) break;
      const t = r.chance(0.7) || dat ? e.sums : e.counts;
      if (!t || t.values.length === 0) break;
      for (let k = 1 + r.int(r.chance(0.2) ? 16 : 2); k > 0; k--) {
        const i = r.int(t.values.length);
        t.values[i] = r.chance(0.8) ? r.pick(ODD_VALUES) : -t.values[i]!;
        log.push(`${e.name} ${t === e.sums ? 'sums' : 'counts'}[${i}] = ${t.values[i]}`);
      }
      break;
    }
    case 2: {
      if (!e?.sums) break;
      const n = r.pick([0, 1, e.sums.values.length - 1, e.sums.values.length + 1, e.sums.values.length * 2, e.sums.values.length >> 1, 4096]);
      e.sums.values = resized(e.sums.values, Math.max(0, n), r);
      if (r.chance(0.7)) e.sums.dims = [e.sums.values.length];
      log.push(`${e.name} sums resized to ${n} (dims ${JSON.stringify(e.sums.dims)})`);
      break;
    }
    case 3: {
      if (!e?.counts) break;
      const n = r.pick([0, 2, 3, 8]);
      e.counts.values = resized(e.counts.values, n, r);
      e.counts.dims = r.chance(0.5) ? [1, n] : [n];
      if (r.chance(0.5) && e.sums) e.sums.dims = [e.sums.values.length / Math.max(1, n), n].map((x) => Math.max(1, Math.floor(x)));
      log.push(`${e.name} counts resized to ${n} (sums dims ${JSON.stringify(e.sums?.dims)})`);
      break;
    }
    case 4:
      if (e) {
        const i = m.entries.indexOf(e);
        if (r.chance(0.5)) m.entries.splice(i, 1);
        else m.entries.splice(i, 0, { ...e });
        log.push(`entry ${e.name} ${m.entries[i] === e ? 'duplicated' : 'removed'}`);
      }
      break;
    case 5:
      log.push(r.chance(0.5) ? 'every entry removed' : 'all but one entry removed');
      m.entries = r.chance(0.5) || !e ? [] : [e];
      break;
    case 6:
      if (e && m.entries.length > 1) {
        const o = r.pick(m.entries);
        [e.sums, o.sums] = [o.sums, e.sums];
        log.push(`sums of ${e.name} and ${o.name} swapped`);
      }
      break;
    case 7: {
      if (!e) break;
      if (dat) {
        e.ncall = r.pick([0, -1, 1, 2 ** 31 - 1, -(2 ** 31)]);
        log.push(`${e.name} ncall = ${e.ncall}`);
      } else {
        const half = r.chance(0.5) ? 'sums' : 'counts';
        delete e[half];
        log.push(`${e.name} ${half} removed`);
      }
      break;
    }
    case 8: {
      const key = r.pick(['imatrix.chunk_count', 'imatrix.chunk_size']);
      const kv = m.kv.find((x) => x.key === key)!;
      kv.value = r.pick([0, 1, 2 ** 31, 2 ** 32 - 1]);
      if (!dat && r.chance(0.4)) {
        kv.type = r.pick([GgufType.INT32, GgufType.FLOAT32, GgufType.UINT64, GgufType.STRING]);
        if (kv.type === GgufType.STRING) kv.value = String(kv.value);
        else if (kv.type === GgufType.UINT64) kv.value = BigInt(kv.value as number);
        else if (kv.type === GgufType.INT32) kv.value = (kv.value as number) | 0;
      }
      log.push(`${key} = ${String(kv.value)} (type ${kv.type})`);
      break;
    }
    case 9: {
      const kv = m.kv.find((x) => x.key === 'general.type')!;
      kv.value = r.pick(['model', '', 'IMATRIX', 'adapter']);
      log.push(`general.type = ${JSON.stringify(kv.value)}`);
      break;
    }
    case 10: {
      const i = m.kv.findIndex((x) => x.key === 'imatrix.datasets');
      if (i < 0) break;
      const v = r.pick<GgufKv['value']>([{ itemType: GgufType.INT32, items: [1, 2] }, 'calib.txt', { itemType: GgufType.STRING, items: [] }, { itemType: GgufType.STRING, items: ['\u0000', 'a'.repeat(5000)] }]);
      m.kv[i] = { key: 'imatrix.datasets', type: typeof v === 'string' ? GgufType.STRING : GgufType.ARRAY, value: v };
      if (r.chance(0.3)) m.kv.splice(i, 1);
      log.push(`imatrix.datasets = ${JSON.stringify(v).slice(0, 60)}`);
      break;
    }
    case 11: {
      if (!e) break;
      const t = r.chance(0.5) ? e.sums : e.counts;
      if (!t) break;
      t.type = r.pick([GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.I32, 200]);
      log.push(`${e.name} ${t === e.sums ? 'sums' : 'counts'} type ${t.type}`);
      break;
    }
    default: {
      // A tensor that is not an imatrix pair, or the same tensor under both names.
      if (!e?.sums) break;
      m.entries.push({ name: r.pick(['blk.0.attn_q.weight.bias', 'x.in_sum3', 'token_embd']), sums: e.sums, ncall: 1 });
      log.push('a stray tensor added');
    }
  }
}

/** The tensor data of `t` as its type would store that many elements (F32 data under another type tag: wrong sizes included). */
function tensorBytes(t: { values: Float32Array; type: number }): Buffer {
  const b = Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength);
  if (t.type === GgmlType.F16 || t.type === GgmlType.BF16) return b.subarray(0, b.length >> 1);
  return b;
}

function encodeGguf(m: RawImatrix): Buffer {
  const tensors: { name: string; dims: number[]; type: number; data: Buffer }[] = [];
  for (const e of m.entries) {
    if (e.sums) tensors.push({ name: `${e.name}.in_sum2`, dims: e.sums.dims, type: e.sums.type, data: tensorBytes(e.sums) });
    if (e.counts) tensors.push({ name: `${e.name}.counts`, dims: e.counts.dims, type: e.counts.type, data: tensorBytes(e.counts) });
  }
  const pad = (n: number): number => Math.ceil(n / 32) * 32;
  let offset = 0;
  const entries = tensors.map((t) => {
    const entry = { name: t.name, dims: t.dims, type: t.type, offset };
    offset += pad(t.data.length);
    return entry;
  });
  const parts: Buffer[] = [encodeGgufHeader(m.kv, entries, 32)];
  for (const t of tensors) parts.push(t.data, Buffer.alloc(pad(t.data.length) - t.data.length));
  return Buffer.concat(parts);
}

function encodeDat(m: RawImatrix): Buffer {
  const parts: Buffer[] = [];
  const i32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v | 0);
    return b;
  };
  parts.push(i32(m.entries.length));
  for (const e of m.entries) {
    const name = Buffer.from(e.name, 'utf8');
    const v = e.sums?.values ?? new Float32Array(0);
    parts.push(i32(name.length), name, i32(e.ncall), i32(v.length), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  const count = m.kv.find((x) => x.key === 'imatrix.chunk_count')!.value;
  const ds = m.kv.find((x) => x.key === 'imatrix.datasets')?.value;
  const name = Buffer.from(typeof ds === 'object' && ds !== null && 'items' in ds && typeof ds.items[0] === 'string' ? ds.items[ds.items.length - 1] as string : '', 'utf8');
  parts.push(i32(Number(count)), i32(name.length), name);
  return Buffer.concat(parts);
}

/**
 * A mutant of the valid imatrix `im` (read from a seed file) encoded as `format`: one semantic
 * edit, or up to three.
 */
export function mutateImatrix(im: Imatrix, format: 'gguf' | 'dat', r: Rng, log: string[]): Buffer {
  const m = raw(im, im.datasets);
  // .dat stores means · ncall: the seed's sums turned back into what the file holds.
  if (format === 'dat') for (const e of m.entries) if (e.sums && e.counts) e.sums.values = e.sums.values.map((v) => (v / Math.max(1, e.counts!.values[0]!)) * e.ncall);
  for (let k = 1 + (r.chance(0.3) ? r.int(3) : 0); k > 0; k--) edit(m, r, log, format === 'dat');
  try {
    return format === 'gguf' ? encodeGguf(m) : encodeDat(m);
  } catch (err) {
    // An edit the header encoder cannot write (it checks value types): the seed as it was.
    log.push(`not encodable (${(err as Error).message.slice(0, 80)}): the seed unchanged`);
    return format === 'gguf' ? encodeGguf(raw(im, im.datasets)) : encodeDat(raw(im, im.datasets));
  }
}
