/**
 * Safetensors-aware mutations: the 8-byte header length set to lies, bit flips and byte sets in
 * the JSON header, truncations, digits changed in place, and JSON-aware edits of the header
 * (dtypes, shapes and offsets set to extremes, overlaps, duplicate and broken keys, bad
 * __metadata__). Used in place (with undo) by the parser fuzz test and on copies by the campaign.
 */
import { SAFETENSORS_MAX_HEADER } from '../../lib/io/safetensors.js';
import type { Rng } from './fuzz-helpers.js';

const LENGTH_LIES = (n: number, size: number): bigint[] => [
  0n, 1n, 2n, 7n, 8n, BigInt(n - 1), BigInt(n + 1), BigInt(n - 8), BigInt(n + 8), BigInt(size), BigInt(size - 8), BigInt(size - 7),
  BigInt(SAFETENSORS_MAX_HEADER), BigInt(SAFETENSORS_MAX_HEADER + 1), 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n,
  1n << 53n, 1n << 60n, 1n << 63n, 0xffffffffffffffffn,
];
const NUMBERS = [0, 1, -1, 2, 4, 7, 8, 255, 256, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 60, 2 ** 64, 1.5, -0, 1e308];
const JUNK: unknown[] = [null, true, 'x', '', [], {}, [1, 2, 3], -5, 0.5, 'F32', { a: 1 }];

/** A JSON-aware mutation of the header object; returns the new header text. */
export function mutateJson(obj: Record<string, unknown>, names: string[], rng: Rng, log: string[]): string {
  const h = structuredClone(obj) as Record<string, Record<string, unknown>>;
  const name = rng.pick(names);
  const e = h[name]!;
  const offs = e.data_offsets as number[];
  switch (rng.int(12)) {
    case 0: {
      const v = rng.pick<unknown>(['F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'F4', 'F6_E2M3', 'F31', 'f32', '', 'F32 ', 7, null]);
      e.dtype = v;
      log.push(`${name}.dtype = ${JSON.stringify(v)}`);
      break;
    }
    case 1: {
      const shape = [...(e.shape as number[])];
      const v = rng.chance(0.7) ? rng.pick(NUMBERS) : rng.pick(JUNK);
      if (shape.length > 0 && rng.chance(0.8)) shape[rng.int(shape.length)] = v as number;
      else shape.push(v as number);
      e.shape = rng.chance(0.1) ? rng.pick(JUNK) : shape;
      log.push(`${name}.shape = ${JSON.stringify(e.shape)}`);
      break;
    }
    case 2:
    case 3: {
      const o = [...offs];
      const k = rng.int(2);
      o[k] = rng.chance(0.7) ? rng.pick(NUMBERS) : o[k]! + rng.pick([-4, -1, 1, 4, 64, -64]);
      e.data_offsets = rng.chance(0.1) ? rng.pick(JUNK) : o;
      log.push(`${name}.data_offsets = ${JSON.stringify(e.data_offsets)}`);
      break;
    }
    case 4: {
      // Overlap or swap with another tensor's range.
      const other = h[rng.pick(names)]!;
      e.data_offsets = rng.chance(0.5) ? [...(other.data_offsets as number[])] : [(other.data_offsets as number[])[0]! + 4, offs[1]! - offs[0]! + (other.data_offsets as number[])[0]! + 4];
      log.push(`${name}.data_offsets = ${JSON.stringify(e.data_offsets)} (overlap)`);
      break;
    }
    case 5: {
      const field = rng.pick(['dtype', 'shape', 'data_offsets']);
      delete e[field];
      log.push(`delete ${name}.${field}`);
      break;
    }
    case 6: {
      h[name] = rng.pick(JUNK) as Record<string, unknown>;
      log.push(`${name} = ${JSON.stringify(h[name])}`);
      break;
    }
    case 7: {
      h.__metadata__ = rng.chance(0.5) ? (rng.pick(JUNK) as Record<string, unknown>) : { format: rng.pick(JUNK) };
      log.push(`__metadata__ = ${JSON.stringify(h.__metadata__)}`);
      break;
    }
    case 8: {
      // Duplicate a key at the text level (JSON.parse would keep only one).
      const text = JSON.stringify(h);
      const dup = `${JSON.stringify(name)}:${JSON.stringify(rng.chance(0.5) ? e : h[rng.pick(names)])},`;
      log.push(`duplicate key ${name}`);
      return `{${dup}${text.slice(1)}`;
    }
    case 9: {
      // Whitespace padding (valid, the format allows it) or junk after the object.
      const text = JSON.stringify(h);
      const tail = rng.pick(['   ', '\n', ' x', ',', '}', '\u0000']);
      log.push(`append ${JSON.stringify(tail)}`);
      return text + tail;
    }
    case 10: {
      // Add an extra tensor pointing anywhere.
      const v = { dtype: 'F32', shape: [rng.pick(NUMBERS)], data_offsets: [rng.pick(NUMBERS), rng.pick(NUMBERS)] };
      h[rng.pick(['extra', name, '', '__proto__', 'constructor'])] = v;
      log.push(`extra tensor ${JSON.stringify(v)}`);
      break;
    }
    default: {
      // Nested depth and odd structures.
      e.shape = JSON.parse('['.repeat(50) + ']'.repeat(50)) as unknown;
      log.push(`${name}.shape deeply nested`);
      break;
    }
  }
  return JSON.stringify(h);
}

/** The parts of a valid safetensors file a mutation needs. */
export interface SafetensorsParts {
  /** Header length (the first 8 bytes). */
  n: number;
  headerObj: Record<string, unknown>;
  names: string[];
  data: Uint8Array;
}

/** Splits a valid safetensors file into its parts. */
export function safetensorsParts(file: Uint8Array): SafetensorsParts {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const n = Number(buf.readBigUInt64LE(0));
  const headerObj = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  return { n, headerObj, names: Object.keys(headerObj).filter((k) => k !== '__metadata__'), data: buf.subarray(8 + n) };
}

/**
 * One mutation of `buf` (a valid file of `parts`): either a new file around a JSON-aware edit of
 * the header, or byte-level edits of `buf` in place, each first recorded with `save` so the
 * caller can undo them. Returns the bytes to parse.
 */
export function mutateSafetensors(buf: Buffer, parts: SafetensorsParts, rng: Rng, log: string[], save: (pos: number, k: number) => void): Buffer {
  const { n, headerObj, names, data } = parts;
  let bytes: Buffer = buf;
  let length = buf.length;
  if (rng.chance(0.35)) {
    // JSON-aware: rebuild the file around a mutated header (with its true length, mostly).
    const text = mutateJson(headerObj, names, rng, log);
    const hb = Buffer.from(text, 'utf8');
    const len = Buffer.alloc(8);
    const lie = rng.chance(0.15) ? rng.pick([-1, 1, -8, 8, 1000]) : 0;
    len.writeBigUInt64LE(BigInt(Math.max(0, hb.length + lie)));
    if (lie) log.push(`header length off by ${lie}`);
    bytes = Buffer.concat([len, hb, data]);
    length = bytes.length;
    if (rng.chance(0.1)) {
      length = rng.int(length);
      log.push(`truncate to ${length}`);
    }
  } else {
    const ops = 1 + (rng.chance(0.3) ? rng.int(3) : 0);
    for (let k = 0; k < ops; k++) {
      const op = rng.int(7);
      if (op <= 1) {
        const v = rng.pick(LENGTH_LIES(n, buf.length));
        save(0, 8);
        buf.writeBigUInt64LE(v, 0);
        log.push(`header length ${v}`);
      } else if (op <= 4) {
        const pos = rng.chance(0.9) ? rng.int(8 + n) : rng.int(buf.length);
        save(pos, 1);
        if (rng.chance(0.6)) {
          const bit = rng.int(8);
          buf[pos]! ^= 1 << bit;
          log.push(`flip bit ${bit} of byte ${pos}`);
        } else {
          const v = rng.pick([0, 0xff, 0x80, 0xc3, 0x22, 0x7b, 0x7d, 0x2c, 0x3a, 0x30, 0x39, 0x2d, rng.int(256)]);
          buf[pos] = v;
          log.push(`byte ${pos} = ${v}`);
        }
      } else if (op === 5) {
        length = Math.min(length, rng.chance(0.7) ? rng.int(8 + n + 16) : rng.int(buf.length));
        log.push(`truncate to ${length}`);
      } else {
        // A digit in an offset or shape changed in place (keeps the header length).
        let pos = 8 + rng.int(n);
        while (pos < 8 + n && !(buf[pos]! >= 0x30 && buf[pos]! <= 0x39)) pos++;
        if (pos < 8 + n) {
          save(pos, 1);
          const v = 0x30 + rng.int(10);
          buf[pos] = v;
          log.push(`digit at ${pos} = ${v - 0x30}`);
        }
      }
    }
  }
  return bytes.subarray(0, Math.min(length, bytes.length));
}
