/**
 * GGUF-aware mutations: a map of every field of a valid GGUF file (counts, string lengths, value
 * and item types, dims, tensor types and offsets), and one random mutation of it (bit flips, byte
 * sets, fields set to extremes, truncation, broken UTF-8, duplicated keys and names, moved offsets,
 * versions and magic, a key renamed to general.alignment). Used in place (with undo) by the parser
 * fuzz test and on copies by the campaign (scripts/fuzz.ts).
 */
import { GgufType } from '../../lib/io/gguf-types.js';
import type { Rng } from './fuzz-helpers.js';

export type FieldKind = 'version' | 'count' | 'strlen' | 'vtype' | 'itemtype' | 'arrcount' | 'ndims' | 'dim' | 'ttype' | 'offset' | 'scalar';
export interface Field {
  pos: number;
  size: 1 | 2 | 4 | 8;
  kind: FieldKind;
}
export interface FileMap {
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
export function mapFields(b: Buffer): FileMap {
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
export class Mutator {
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
export function mutate(m: Mutator, map: FileMap, rng: Rng): number | undefined {
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

/** A mutated copy of a GGUF file: 1 to 3 mutations, the truncation applied; `log` says what. */
export function mutateGguf(original: Uint8Array, map: FileMap, rng: Rng): { bytes: Buffer; log: string[] } {
  const m = new Mutator(Buffer.from(original));
  let length = m.buf.length;
  const ops = 1 + (rng.chance(0.3) ? rng.int(3) : 0);
  for (let k = 0; k < ops; k++) {
    const cut = mutate(m, map, rng);
    if (cut !== undefined) length = Math.min(length, cut);
  }
  return { bytes: m.buf.subarray(0, length), log: m.log };
}
