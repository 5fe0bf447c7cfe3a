/**
 * What the campaign mutates and which commands read each mutant. A kind names the input that is
 * mutated (gguf, safetensors, index, config, tokenizer, plan, tensor-types, imatrix, text); a mutant is that
 * input, mutated from one of its seeds, placed in a fresh folder beside links to the other files
 * it needs; every command that reads that input then runs on it, in process (lib/cli runCli).
 * Mutants are a pure function of (kind, seed, iteration), so any finding replays alone.
 */
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Rng, iterationRng } from '../fuzz-helpers.js';
import { mapFields, mutateGguf, type FileMap } from '../gguf-mutate.js';
import { mutateSafetensors, safetensorsParts } from '../safetensors-mutate.js';
import { mutateBytes, mutateJsonText, mutateTensorTypes } from '../text-mutate.js';
import { mutateImatrix } from '../imatrix-mutate.js';
import { readImatrix, type ImatrixFile } from '../../../lib/imatrix/read.js';
import type { Seeds } from './seeds.js';

export const KINDS = ['gguf', 'safetensors', 'index', 'config', 'tokenizer', 'plan', 'tensor-types', 'imatrix', 'text'] as const;
export type Kind = (typeof KINDS)[number];

/** A mutant laid out on disk: the path each command reads, and what was done. */
export interface Mutant {
  /** The model path (GGUF file or HF folder) the commands read. */
  model: string;
  /** The file that was mutated. */
  mutated: string;
  /** Where commands write outputs (must not exist after a failed command). */
  output: string;
  /** The mutation, step by step. */
  log: string[];
}

/**
 * `{model}`, `{out}`, `{text}`, `{file}` (the mutated file), `{imatrix}` (the seed imatrix) are
 * replaced per mutant. `{lib}` NAME…: a library reader no command reaches (worker.ts libCall). A command after `{if-ok}` runs
 * only when the command before it succeeded (a write after a plan that did not fail: writing is
 * the dearest step, and a mutant that cannot be planned fails the same way before writing).
 */
export type Command = string[];

const HF_COMMANDS: Command[] = [
  ['inspect', '{model}', '--json'],
  ['convert', '{model}', '-o', '{out}'],
  ['quantize', '{model}', '--bits', '6', '--levels', 'Q4_0,Q8_0', '--method', 'zd', '--plan-only'],
  ['eval', '{model}', '--text', '{text}', '-c', '16', '--chunks', '1'],
  ['imatrix', '{model}', '--calib', '{text}', '-c', '16', '--chunks', '1', '-o', '{out}'],
];

/** The commands that read each kind of input. */
export const COMMANDS: Record<Kind, Command[]> = {
  gguf: [
    ['inspect', '{model}', '--json'],
    ['quantize', '{model}', '--bits', '6', '--levels', 'Q4_0,Q8_0', '--method', 'zd', '--plan-only'],
    ['{if-ok}', 'quantize', '{model}', '--bits', '6', '--levels', 'Q4_0,Q8_0', '--method', 'zd', '-o', '{out}'],
    ['eval', '{model}', '--text', '{text}', '-c', '16', '--chunks', '1'],
    ['imatrix', '{model}', '--calib', '{text}', '-c', '16', '--chunks', '1', '-o', '{out}'],
  ],
  safetensors: HF_COMMANDS,
  index: HF_COMMANDS,
  config: HF_COMMANDS,
  tokenizer: HF_COMMANDS,
  plan: [
    ['quantize', '{model}', '--plan', '{file}', '--plan-only', '--json'],
    ['{if-ok}', 'quantize', '{model}', '--plan', '{file}', '-o', '{out}'],
  ],
  // No command reads a tensor-type file yet (--plan takes JSON and refuses one at its first byte,
  // as the plan kind's non-JSON mutants show): lib/plan's reader, with and without a preset for
  // the tensors it does not name.
  'tensor-types': [
    ['{lib}', 'tensor-types', '{file}', '{model}'],
    ['{lib}', 'tensor-types', '{file}', '{model}', 'Q4_K_M'],
    // quantize --plan reads them too (the write after it is the plan kind's, already covered).
    ['quantize', '{model}', '--plan', '{file}', '--plan-only'],
  ],
  // Q4_0 is the level that quantizes with the imatrix; combining reads the mutant beside the seed.
  imatrix: [
    ['quantize', '{model}', '--imatrix', '{file}', '--bits', '6', '--levels', 'Q4_0,Q8_0', '--method', 'zd', '--plan-only'],
    ['{if-ok}', 'quantize', '{model}', '--imatrix', '{file}', '--bits', '6', '--levels', 'Q4_0,Q8_0', '--method', 'zd', '-o', '{out}'],
    ['imatrix', '--in-file', '{file}', '--in-file', '{imatrix}', '-c', '16', '-o', '{out}'],
  ],
  // Evaluation and calibration text (zd with --calib collects the imatrix on it, in chunks of the
  // tiny model's 64-token context).
  text: [
    ['eval', '{model}', '--text', '{file}', '-c', '16', '--chunks', '1'],
    ['imatrix', '{model}', '--calib', '{file}', '-c', '16', '--chunks', '1', '-o', '{out}'],
    ['quantize', '{model}', '--calib', '{file}', '--tokens', '64', '--bits', '6', '--levels', 'Q4_0,Q8_0', '--method', 'zd', '--plan-only'],
  ],
};

/** Seeds read once per process. */
interface Loaded {
  files: Map<string, Buffer>;
  ggufMaps: Map<string, FileMap>;
  imatrices: Map<string, ImatrixFile>;
}
const cache = new WeakMap<Seeds, Loaded>();
function loaded(seeds: Seeds): Loaded {
  let l = cache.get(seeds);
  if (!l) {
    l = { files: new Map(), ggufMaps: new Map(), imatrices: new Map() };
    cache.set(seeds, l);
  }
  return l;
}
function ggufMap(seeds: Seeds, path: string): FileMap {
  const l = loaded(seeds);
  let map = l.ggufMaps.get(path);
  if (!map) l.ggufMaps.set(path, (map = mapFields(read(seeds, path))));
  return map;
}
function read(seeds: Seeds, path: string): Buffer {
  const l = loaded(seeds);
  let b = l.files.get(path);
  if (!b) {
    b = readFileSync(path);
    l.files.set(path, b);
  }
  return b;
}

/** Links every file of `from` into `to` but `except`. */
function linkFolder(from: string, to: string, except: string): void {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) if (f !== except) symlinkSync(join(from, f), join(to, f));
}

const SPECIAL_F32 = [0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x7f7fffff, 0xff7fffff, 0x00000001, 0x80000000, 0x7149f2ca, 0x0d000000];

/** Weights set to NaN, ±Inf, ±FLT_MAX, denormals, -0 or 1e30 (the header stays valid): reaches the kernels. */
function mutateWeights(src: Buffer, map: FileMap, r: Rng): { bytes: Buffer; log: string[] } {
  const b = Buffer.from(src);
  const start = Math.ceil((map.headerEnd + 1) / 32) * 32;
  const log: string[] = [];
  for (let k = 1 + r.int(r.chance(0.2) ? 64 : 3); k > 0; k--) {
    const pos = start + 4 * r.int(Math.max(1, (b.length - start) >> 2));
    if (pos + 4 > b.length) continue;
    const v = r.pick(SPECIAL_F32);
    b.writeUInt32LE(v, pos);
    log.push(`f32 at ${pos} = 0x${v.toString(16)}`);
  }
  return { bytes: b, log };
}

const ODD_TEXT = ['💥', '日本語', '\u0000', '\ufeff', '\r\n', '\t', '\u200b', 'é', '\ufffd', ' '.repeat(64)].map((t) => Buffer.from(t, 'utf8'));

/** Text mutants: bytes (invalid UTF-8 included), cut below one chunk, characters the vocabulary lacks, lone surrogates, repeated. */
function mutateText(src: Buffer, r: Rng, log: string[]): Buffer {
  switch (r.int(5)) {
    case 0:
    case 1:
      return mutateBytes(src, r, log);
    case 2: {
      const n = r.int(48);
      log.push(`cut to ${n} bytes`);
      return src.subarray(0, n);
    }
    case 3: {
      let b = src;
      for (let k = 1 + r.int(4); k > 0; k--) {
        const pos = r.int(b.length + 1);
        const ins = r.chance(0.2) ? Buffer.from([0xed, 0xa0, 0x80]) : r.pick(ODD_TEXT);
        b = Buffer.concat([b.subarray(0, pos), ins, b.subarray(pos)]);
        log.push(`insert ${ins.toString('hex')} at ${pos}`);
      }
      return b;
    }
    default: {
      const k = 2 + r.int(3);
      log.push(`repeated ${k} times`);
      return Buffer.concat(Array.from({ length: k }, () => src));
    }
  }
}

const kindSalt = (kind: Kind): number => KINDS.indexOf(kind) * 0x2545f491;

/** Writes the mutant of (kind, seed, i) into the empty folder `dir`. */
export function makeMutant(seeds: Seeds, kind: Kind, seed: number, i: number, dir: string): Mutant {
  const r: Rng = iterationRng((seed ^ kindSalt(kind)) >>> 0, i);
  const log: string[] = [];
  const output = join(dir, 'out.gguf');
  if (kind === 'gguf') {
    const src = r.chance(0.7) ? seeds.gguf.tiny : seeds.gguf.stories;
    const bytes = read(seeds, src);
    const map = ggufMap(seeds, src);
    const m = r.chance(0.25) ? mutateWeights(bytes, map, r) : mutateGguf(bytes, map, r);
    const model = join(dir, 'model.gguf');
    writeFileSync(model, m.bytes);
    return { model, mutated: model, output, log: [`seed ${basename(src)}`, ...m.log] };
  }
  if (kind === 'imatrix') {
    // Decoded edits (imatrix-mutate) most often; else the GGUF container's fields, its data, or bytes.
    const gguf = r.chance(0.65);
    const src = gguf ? seeds.imatrix.gguf : seeds.imatrix.dat;
    const file = join(dir, basename(src));
    const bytes = read(seeds, src);
    const l = loaded(seeds);
    let im = l.imatrices.get(src);
    if (!im) l.imatrices.set(src, (im = readImatrix(src, { chunkSize: 16 })));
    const how = r.int(100);
    let out: Buffer;
    if (how < 50) out = mutateImatrix(im, gguf ? 'gguf' : 'dat', r, log);
    else if (gguf && how < 90) {
      const m = how < 75 ? mutateGguf(bytes, ggufMap(seeds, src), r) : mutateWeights(bytes, ggufMap(seeds, src), r);
      out = m.bytes;
      log.push(...m.log);
    } else out = mutateBytes(bytes, r, log);
    writeFileSync(file, out);
    return { model: seeds.gguf.tiny, mutated: file, output, log: [`seed ${basename(src)}`, ...log] };
  }
  if (kind === 'text') {
    const file = join(dir, 'text.txt');
    writeFileSync(file, mutateText(read(seeds, seeds.text), r, log));
    return { model: seeds.gguf.tiny, mutated: file, output, log };
  }
  if (kind === 'plan' || kind === 'tensor-types') {
    const src = kind === 'plan' ? seeds.plan : seeds.tensorTypes;
    const file = join(dir, basename(src));
    const bytes = kind === 'plan' ? mutateJsonText(read(seeds, src), r, log) : mutateTensorTypes(read(seeds, src), r, log);
    writeFileSync(file, bytes);
    return { model: seeds.gguf.tiny, mutated: file, output, log };
  }
  // HF folder kinds: pick a seed folder that has the file, mutate it, link the rest.
  const folders = kind === 'index' ? [seeds.hf.sharded] : r.chance(0.2) ? [seeds.hf.stories] : [seeds.hf.tiny, seeds.hf.sharded];
  const folder = r.pick(folders);
  let name: string;
  if (kind === 'config') name = 'config.json';
  else if (kind === 'tokenizer') name = 'tokenizer.json';
  else if (kind === 'index') name = 'model.safetensors.index.json';
  else name = r.pick(readdirSync(folder).filter((f) => f.endsWith('.safetensors')));
  const model = join(dir, 'hf');
  linkFolder(folder, model, name);
  const src = read(seeds, join(folder, name));
  let bytes: Buffer;
  if (kind === 'safetensors') {
    if (r.chance(0.85)) {
      const buf = Buffer.from(src);
      bytes = Buffer.from(mutateSafetensors(buf, safetensorsParts(src), r, log, () => {}));
    } else bytes = mutateBytes(src, r, log);
  } else bytes = mutateJsonText(src, r, log);
  const mutated = join(model, name);
  writeFileSync(mutated, bytes);
  return { model, mutated, output, log: [`seed ${basename(folder)}/${name}`, ...log] };
}

/** A command's argv for a mutant. */
export function argvFor(cmd: Command, m: Mutant, seeds: Seeds): string[] {
  return cmd.map((a) => a.replace('{model}', m.model).replace('{out}', m.output).replace('{text}', seeds.text).replace('{file}', m.mutated).replace('{imatrix}', seeds.imatrix.gguf));
}
