/**
 * Mutations of text inputs: JSON documents (config.json, tokenizer.json, plan.json, the
 * safetensors index) edited as trees (a value deleted, replaced by an extreme or a value of
 * another type, an array shrunk or grown, a string broken, a key duplicated at the text level,
 * deep nesting) or as text; llama-quantize tensor-type files edited token by token (regex syntax
 * inserted, types swapped, `=` dropped, entries repeated); and plain byte edits for both.
 */
import type { Rng } from './fuzz-helpers.js';

const NUMBERS = [0, 1, -1, 2, 3, 7, 8, 31, 32, 33, 63, 64, 255, 256, 4096, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 63, 1e308, -1e308, 0.5, -0.5, 1e-30, 5e-324];
const STRINGS = ['', ' ', 'x', 'F32', 'f16', 'BF16', 'llama', 'LlamaForCausalLM', 'q4_K', 'Q8_0', 'optimal', 'mixed', 'pruned', '\u0000', '\ud800', 'é', '💥', 'a'.repeat(300), '../x', '__proto__', 'constructor'];

/** A random JSON value: scalars of every type, small containers. */
function randomValue(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 1 ? 4 : 6)) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.chance(0.8) ? r.pick(NUMBERS) : r.int(1000) - 500;
    case 3: return r.pick(STRINGS);
    case 4: return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
    default: return Object.fromEntries(Array.from({ length: r.int(3) }, () => [r.pick(['a', 'dtype', 'shape', 'name', 'format', 'weight_map', 'model', 'type']), randomValue(r, depth + 1)]));
  }
}

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number };

/** Every slot (object member or array element) of `root`, up to `limit` (breadth first). */
function slots(root: unknown, limit = 4000): Slot[] {
  const out: Slot[] = [];
  const queue: unknown[] = [root];
  while (queue.length && out.length < limit) {
    const v = queue.shift();
    if (Array.isArray(v)) {
      // Long arrays (vocabularies, merges): a sample of their elements.
      const step = Math.max(1, Math.floor(v.length / 64));
      for (let i = 0; i < v.length; i += step) {
        out.push({ parent: v, key: i });
        queue.push(v[i]);
      }
    } else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      const step = Math.max(1, Math.floor(keys.length / 64));
      for (let i = 0; i < keys.length; i += step) {
        out.push({ parent: o, key: keys[i]! });
        queue.push(o[keys[i]!]);
      }
    }
  }
  return out;
}

/** One tree edit of a parsed JSON document (in place); returns the text to write. */
function editTree(doc: unknown, r: Rng, log: string[]): string {
  const all = slots(doc);
  if (all.length === 0) {
    log.push('root replaced');
    return JSON.stringify(randomValue(r));
  }
  const s = r.pick(all);
  const get = (): unknown => (s.parent as Record<string | number, unknown>)[s.key];
  const set = (v: unknown): void => {
    (s.parent as Record<string | number, unknown>)[s.key] = v;
  };
  const where = `${String(s.key).slice(0, 40)}`;
  switch (r.int(9)) {
    case 0:
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete s.parent[s.key as string];
      log.push(`delete ${where}`);
      break;
    case 1:
    case 2: {
      const v = randomValue(r);
      set(v);
      log.push(`${where} = ${JSON.stringify(v)?.slice(0, 60)}`);
      break;
    }
    case 3: {
      const old = get();
      if (typeof old === 'number') set(r.pick([old + 1, old - 1, old * 2, -old, old / 2, old + 0.5, old * 1e6]));
      else if (typeof old === 'string') set(r.chance(0.5) ? old.toUpperCase() : old.slice(0, r.int(old.length + 1)) + r.pick(['', 'x', '\u0000', 'é']));
      else set(randomValue(r));
      log.push(`${where} nudged to ${JSON.stringify(get())?.slice(0, 60)}`);
      break;
    }
    case 4: {
      const old = get();
      if (Array.isArray(old)) {
        if (r.chance(0.5)) old.length = r.int(old.length + 1);
        else for (let k = r.int(4); k >= 0; k--) old.push(old.length ? old[r.int(old.length)] : randomValue(r));
        log.push(`${where} resized to ${old.length}`);
      } else {
        set([old]);
        log.push(`${where} wrapped in an array`);
      }
      break;
    }
    case 5: {
      // Deep nesting.
      let v: unknown = get();
      for (let k = 0; k < 40; k++) v = r.chance(0.5) ? [v] : { a: v };
      set(v);
      log.push(`${where} nested 40 deep`);
      break;
    }
    case 6: {
      // A duplicate member, at the text level (JSON.parse keeps the last).
      const text = JSON.stringify(doc);
      if (!text.startsWith('{')) return text;
      const k = r.pick(Object.keys(doc as object).concat(['__proto__']));
      log.push(`duplicate member ${k}`);
      return `{${JSON.stringify(k)}:${JSON.stringify(randomValue(r))},${text.slice(1)}`;
    }
    case 7: {
      // Keys swapped: the value of one slot moved to another.
      const t = r.pick(all);
      const v = get();
      set((t.parent as Record<string | number, unknown>)[t.key]);
      (t.parent as Record<string | number, unknown>)[t.key] = v;
      log.push(`swap ${where} with ${String(t.key).slice(0, 40)}`);
      break;
    }
    default: {
      if (!Array.isArray(s.parent)) {
        const v = get();
        delete s.parent[s.key as string];
        const k = r.pick(['', ' ', `${String(s.key)} `, String(s.key).toUpperCase(), '__proto__', 'constructor']);
        s.parent[k] = v;
        log.push(`rename ${where} -> ${JSON.stringify(k)}`);
      }
      break;
    }
  }
  return JSON.stringify(doc, null, r.chance(0.5) ? 2 : undefined);
}

/** Byte edits of any file: bit flips, byte sets, cuts, inserts, duplicated ranges, truncation. */
export function mutateBytes(src: Uint8Array, r: Rng, log: string[]): Buffer {
  let b = Buffer.from(src);
  const ops = 1 + (r.chance(0.3) ? r.int(4) : 0);
  for (let k = 0; k < ops; k++) {
    const pos = b.length ? r.int(b.length) : 0;
    switch (r.int(7)) {
      case 0:
        if (b.length) b[pos]! ^= 1 << r.int(8);
        log.push(`flip a bit of byte ${pos}`);
        break;
      case 1: {
        const v = r.pick([0, 0xff, 0x80, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x3d, 0x0a, 0x20, 0x30, 0x39, 0x2d, 0x2e, r.int(256)]);
        if (b.length) b[pos] = v;
        log.push(`byte ${pos} = ${v}`);
        break;
      }
      case 2: {
        const n = 1 + r.int(16);
        b = Buffer.concat([b.subarray(0, pos), b.subarray(Math.min(b.length, pos + n))]);
        log.push(`cut ${n} at ${pos}`);
        break;
      }
      case 3: {
        const ins = Buffer.from(r.pick(['"', '\\', '{', '}', '[', ']', ',', ':', '=', '\u0000', '\u00e9', '\ufffd', ' ', '\n', 'null', '1e999', '-', '0x10']));
        b = Buffer.concat([b.subarray(0, pos), ins, b.subarray(pos)]);
        log.push(`insert ${JSON.stringify(ins.toString())} at ${pos}`);
        break;
      }
      case 4: {
        const n = 1 + r.int(64);
        b = Buffer.concat([b.subarray(0, pos + n), b.subarray(pos, Math.min(b.length, pos + n)), b.subarray(pos + n)]);
        log.push(`repeat ${n} bytes at ${pos}`);
        break;
      }
      case 5:
        b = b.subarray(0, r.int(b.length + 1));
        log.push(`truncate to ${b.length}`);
        break;
      default: {
        // A digit changed: keeps JSON valid more often than other byte edits.
        let p = pos;
        while (p < b.length && !(b[p]! >= 0x30 && b[p]! <= 0x39)) p++;
        if (p < b.length) b[p] = 0x30 + r.int(10);
        log.push(`digit at ${p}`);
      }
    }
  }
  return b;
}

/** A mutated JSON document: mostly tree edits (1–3), sometimes byte edits of its text. */
export function mutateJsonText(src: Uint8Array, r: Rng, log: string[]): Buffer {
  if (r.chance(0.25)) return mutateBytes(src, r, log);
  let text = Buffer.from(src).toString('utf8');
  const edits = 1 + (r.chance(0.3) ? r.int(3) : 0);
  for (let k = 0; k < edits; k++) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      break;
    }
    text = editTree(doc, r, log);
  }
  return Buffer.from(text, 'utf8');
}

const REGEX_BITS = ['(', ')', '*', '+', '?', '[', ']', '{2}', '{1,}', '{,3}', '{9999}', '\\', '\\1', '|', '^', '$', '.', '(?=', '(?:', '[^', '\\d', '\\x4', '\\u00e9', '\u00e9', '\u0000', 'A', '(a*)*', '[z-a]', '[[:alpha:]]'];
const TYPES = ['q4_K', 'Q8_0', 'f16', 'F32', 'bf16', 'q2_K', 'iq4_xs', 'iq2_xxs', 'q1_0', 'mxfp4', 'q4_0_4_4', 'int4', 'Q9_K', '', 'q8_0=', 'Q4_K_M'];

/** A mutated llama-quantize tensor-type file: token edits (1–3), or byte edits. */
export function mutateTensorTypes(src: Uint8Array, r: Rng, log: string[]): Buffer {
  if (r.chance(0.2)) return mutateBytes(src, r, log);
  const tokens = Buffer.from(src).toString('utf8').split(/\s+/).filter(Boolean);
  const edits = 1 + (r.chance(0.3) ? r.int(3) : 0);
  for (let k = 0; k < edits && tokens.length; k++) {
    const i = r.int(tokens.length);
    const t = tokens[i]!;
    const eq = t.indexOf('=');
    const pat = eq < 0 ? t : t.slice(0, eq);
    const type = eq < 0 ? '' : t.slice(eq + 1);
    switch (r.int(7)) {
      case 0: {
        const at = r.int(pat.length + 1);
        const bit = r.pick(REGEX_BITS);
        tokens[i] = `${pat.slice(0, at)}${bit}${pat.slice(at)}=${type}`;
        log.push(`pattern ${i}: insert ${JSON.stringify(bit)} at ${at}`);
        break;
      }
      case 1:
        tokens[i] = `${pat}=${r.pick(TYPES)}`;
        log.push(`entry ${i}: type -> ${tokens[i]!.slice(pat.length + 1)}`);
        break;
      case 2:
        tokens[i] = t.replace('=', r.pick(['', '==', ' = ', '\n']));
        log.push(`entry ${i}: "=" broken`);
        break;
      case 3:
        tokens.splice(r.int(tokens.length + 1), 0, tokens[r.int(tokens.length)]!);
        log.push(`entry ${i} repeated`);
        break;
      case 4:
        tokens.splice(i, 1);
        log.push(`entry ${i} deleted`);
        break;
      case 5:
        tokens[i] = r.chance(0.5) ? t.toUpperCase() : `${pat.replace(/^\^/, '').replace(/\$$/, '')}=${type}`;
        log.push(`entry ${i}: case or anchors changed`);
        break;
      default: {
        const at = r.int(pat.length + 1);
        tokens[i] = `${pat.slice(0, at)}${pat.slice(at + 1 + r.int(4))}=${type}`;
        log.push(`pattern ${i}: characters cut at ${at}`);
      }
    }
  }
  return Buffer.from(tokens.join(r.pick(['\n', ' ', '\t', '\r\n'])) + '\n', 'utf8');
}
