/**
 * The valid inputs the campaign mutates, written once into a folder: a tiny Llama as a HF folder
 * (config.json, tokenizer.json from the shared stories260K, one F32 safetensors file) and sharded
 * (an index and two BF16 shards), its GGUF (converted by our own convert), a plan.json and a tensor-type
 * file for it, a short text (evaluation and calibration), the GGUF's imatrix on it (GGUF and
 * .dat); beside them the shared stories260K GGUF and HF folder.
 * Tiny shapes (2 blocks, 32 wide) keep every command on a mutant to milliseconds, so a campaign of
 * 10^5 inputs runs in minutes; the real model keeps real metadata and sizes in the mix.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeImatrix } from '../../../lib/imatrix/compute.js';
import { writeImatrix } from '../../../lib/imatrix/write.js';
import { loadModel } from '../../../lib/model/load.js';
import { convertHfToGguf } from '../../../lib/model/convert.js';
import { BLOCK_ROLES, hfBlockName, hfGlobalName, type BlockRole } from '../../../lib/model/names.js';
import { parseBudget } from '../../../lib/plan/budget.js';
import { planToJson } from '../../../lib/plan/plan-file.js';
import { tensorTypeFileText } from '../../../lib/plan/tensor-types.js';
import { planModel, registryFormats } from '../../../lib/quantize/plan-model.js';
import { data } from '../../helpers/data.js';
import { Rng } from '../fuzz-helpers.js';

/** Paths of the seeds. */
export interface Seeds {
  dir: string;
  /** HF folders: tiny (one F32 file), tiny sharded (index + 2 BF16 shards), stories260K. */
  hf: { tiny: string; sharded: string; stories: string };
  /** GGUF models: tiny (from the tiny HF folder), stories260K. */
  gguf: { tiny: string; stories: string };
  /** plan.json and tensor-type files, both for the tiny GGUF. */
  plan: string;
  tensorTypes: string;
  /** Evaluation text (a few hundred characters of TinyStories). */
  text: string;
  /** The tiny GGUF's imatrix (our `layerquant imatrix` on the text: output head included) as GGUF and legacy .dat (without it). */
  imatrix: { gguf: string; dat: string };
}

// A 64-token training context: quantize --calib's chunks (the context, at most 512) fit the short text.
const TINY = { hidden: 32, heads: 4, kvHeads: 2, ff: 64, layers: 2, vocab: 512, context: 64 };

/** BF16 bits of `v`, rounded to nearest even (finite inputs). */
function bf16(v: Float32Array): Uint16Array {
  const u = new Uint32Array(v.buffer, v.byteOffset, v.length);
  return Uint16Array.from(u, (x) => (x + 0x7fff + ((x >>> 16) & 1)) >>> 16);
}

/** A safetensors file holding `tensors` (shapes in PyTorch order) as F32 or BF16. */
function safetensors(tensors: [string, number[], Float32Array][], dtype: 'F32' | 'BF16' = 'F32'): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const bytes = tensors.map(([, , v]) => (dtype === 'F32' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(bf16(v).buffer)));
  let offset = 0;
  tensors.forEach(([name, shape], k) => {
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes[k]!.length] };
    offset += bytes[k]!.length;
  });
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), ...bytes]);
}

/** The tiny model's tensors in HF naming and layout (q/k rows in HF order: random, so any order). */
function tinyTensors(): [string, number[], Float32Array][] {
  const r = new Rng(0x5eed);
  const rand = (n: number, norm: boolean): Float32Array => Float32Array.from({ length: n }, () => (norm ? 1 + (r.u32() / 2 ** 32 - 0.5) * 0.1 : ((r.u32() / 2 ** 32) * 2 - 1) * 0.1));
  const { hidden: h, heads, kvHeads, ff, layers, vocab } = TINY;
  const hd = h / heads;
  // The llama block (BlockRole also names other families' tensors).
  const shapes: Partial<Record<BlockRole, number[]>> = {
    attn_q: [heads * hd, h], attn_k: [kvHeads * hd, h], attn_v: [kvHeads * hd, h], attn_output: [h, heads * hd], attn_norm: [h],
    ffn_gate: [ff, h], ffn_down: [h, ff], ffn_up: [ff, h], ffn_norm: [h],
  };
  const out: [string, number[], Float32Array][] = [[hfGlobalName('token_embd'), [vocab, h], rand(vocab * h, false)]];
  for (let i = 0; i < layers; i++) {
    for (const role of BLOCK_ROLES) {
      const shape = shapes[role];
      if (!shape) continue;
      out.push([hfBlockName(i, role), shape, rand(shape.reduce((a, b) => a * b, 1), shape.length === 1)]);
    }
  }
  out.push([hfGlobalName('output_norm'), [h], rand(h, true)], [hfGlobalName('output'), [vocab, h], rand(vocab * h, false)]);
  return out;
}

/** Writes every seed into `dir`. */
export async function writeSeeds(dir: string): Promise<Seeds> {
  const stories = data.stories260K.hf;
  const config = { ...JSON.parse(readFileSync(join(stories, 'config.json'), 'utf8')), hidden_size: TINY.hidden, intermediate_size: TINY.ff, num_hidden_layers: TINY.layers, num_attention_heads: TINY.heads, num_key_value_heads: TINY.kvHeads, head_dim: TINY.hidden / TINY.heads, tie_word_embeddings: false, max_position_embeddings: TINY.context };
  const folder = (name: string): string => {
    const f = join(dir, name);
    mkdirSync(f, { recursive: true });
    writeFileSync(join(f, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(stories, file), join(f, file));
    return f;
  };
  const tensors = tinyTensors();
  const tiny = folder('tiny-hf');
  writeFileSync(join(tiny, 'model.safetensors'), safetensors(tensors));
  const sharded = folder('tiny-hf-sharded');
  const half = Math.ceil(tensors.length / 2);
  const shards = [tensors.slice(0, half), tensors.slice(half)];
  const weightMap: Record<string, string> = {};
  let total = 0;
  shards.forEach((part, k) => {
    const file = `model-0000${k + 1}-of-00002.safetensors`;
    writeFileSync(join(sharded, file), safetensors(part, 'BF16'));
    for (const [name, , v] of part) {
      weightMap[name] = file;
      total += v.length * 2;
    }
  });
  writeFileSync(join(sharded, 'model.safetensors.index.json'), `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`);

  const tinyGguf = join(dir, 'tiny.gguf');
  await convertHfToGguf(tiny, tinyGguf, { type: 'f32' });
  const text = join(dir, 'text.txt');
  const textValue = readFileSync(data.text.tinystories, 'utf8').slice(0, 600);
  writeFileSync(text, textValue);
  const model = loadModel(tinyGguf);
  let plan: string;
  let tensorTypes: string;
  const imatrix = { gguf: join(dir, 'imatrix.gguf'), dat: join(dir, 'imatrix.dat') };
  try {
    // As llama-imatrix writes them (lib/imatrix is checked against it in test/imatrix).
    for (const [path, processOutput] of [[imatrix.gguf, true], [imatrix.dat, false]] as const)
      await writeImatrix(path, await computeImatrix(model, textValue, { context: 16, processOutput, dataset: 'text.txt' }), { format: path.endsWith('.dat') ? 'dat' : 'gguf' });
    const p = await planModel(model, { levels: 'Q4_0,Q8_0', budget: await parseBudget({ bits: '6.5' }, model.hparams), granularity: 'tensor', formats: registryFormats() });
    plan = join(dir, 'plan.json');
    writeFileSync(plan, planToJson(p));
    const source = new Map([...model.blocks.flatMap((b) => b.tensors), ...model.globals].map((t) => [t.name, t.format]));
    tensorTypes = join(dir, 'types.txt');
    writeFileSync(tensorTypes, tensorTypeFileText(p.tensors, (n) => source.get(n)).text);
  } finally {
    model.close();
  }
  return { dir, hf: { tiny, sharded, stories }, gguf: { tiny: tinyGguf, stories: data.stories260K.gguf }, plan, tensorTypes, text, imatrix };
}
