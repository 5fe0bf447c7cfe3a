/**
 * Tiny synthetic mixture-of-experts GGUFs, as llama.cpp's converter lays them out: a dense
 * fixture of the family's attention (test/helpers/arch-fixtures.ts, converted by us) whose MLPs
 * are replaced by a router `ffn_gate_inp` [n_embd, n_expert] and 3-D expert tensors
 * (`ffn_gate_exps`/`ffn_up_exps` [n_embd, n_ff_exp, n_expert], `ffn_down_exps` [n_ff_exp, n_embd,
 * n_expert]), plus qwen2moe's sigmoid-gated shared expert; keys renamed to the MoE architecture
 * with its expert counts. Seeded F32 weights scaled as the dense fixtures' (std 1/√n_in).
 */
import { join } from 'node:path';
import { openGguf } from '../../lib/io/gguf-read.js';
import { GgufType, type GgufKv } from '../../lib/io/gguf-types.js';
import { writeGguf, type GgufTensorSource } from '../../lib/io/gguf-write.js';
import { convertHfToGguf } from '../../lib/model/convert.js';
import { FAMILY_CONFIGS, writeHfFixture } from './arch-fixtures.js';

/** The MoE families: GGUF architecture, the dense fixture whose attention they reuse, experts. */
export const MOE_FAMILIES = {
  mixtral: { arch: 'llama', dense: 'llama', nExpert: 4, nUsed: 2, ffExp: 128, shared: 0 },
  qwen2moe: { arch: 'qwen2moe', dense: 'qwen2', nExpert: 4, nUsed: 2, ffExp: 32, shared: 64 },
  qwen3moe: { arch: 'qwen3moe', dense: 'qwen3', nExpert: 8, nUsed: 2, ffExp: 32, shared: 0 },
} as const;

export type MoeFamily = keyof typeof MOE_FAMILIES;

/** Writes `<dir>/<family>.gguf` and returns its path. */
export async function writeMoeGguf(family: MoeFamily, dir: string, seed = 777): Promise<string> {
  const f = MOE_FAMILIES[family];
  // Llama-layout attention comes from a LlamaForCausalLM fixture with qwen3's shape.
  const llama = { ...FAMILY_CONFIGS.qwen3, architectures: ['LlamaForCausalLM'], model_type: 'llama', head_dim: undefined };
  const hf = writeHfFixture(f.dense, join(dir, `${family}-dense`), { seed, config: { ...(f.dense === 'llama' ? llama : {}), tie_word_embeddings: false } });
  const dense = join(dir, `${family}-dense.gguf`);
  await convertHfToGguf(hf, dense, { name: 'synthetic' });
  const src = openGguf(dense);
  try {
    const from = src.get('general.architecture') as string;
    const e = src.get(`${from}.embedding_length`) as number;
    const nLayer = src.get(`${from}.block_count`) as number;
    const u32 = (key: string, value: number): GgufKv => ({ key: `${f.arch}.${key}`, type: GgufType.UINT32, value });
    const kv: GgufKv[] = src.header.kv.map((x) =>
      x.key === 'general.architecture' ? { ...x, value: f.arch } : x.key.startsWith(`${from}.`) ? { ...x, key: `${f.arch}.${x.key.slice(from.length + 1)}` } : x,
    );
    kv.push(u32('expert_count', f.nExpert), u32('expert_used_count', f.nUsed));
    if (f.arch !== 'llama') kv.push(u32('expert_feed_forward_length', f.ffExp));
    if (f.shared) kv.push(u32('expert_shared_feed_forward_length', f.shared));
    let s = seed >>> 0;
    const rnd = (): number => {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      return s / 4294967296;
    };
    const weights = (dims: number[], sd = 1 / Math.sqrt(dims[0]!)): Float32Array => {
      const v = new Float32Array(dims.reduce((a, b) => a * b, 1));
      for (let i = 0; i < v.length; i++) v[i] = sd * (rnd() + rnd() + rnd() + rnd() - 2) * Math.sqrt(3);
      return v;
    };
    const tensor = (name: string, dims: number[], values: Float32Array): GgufTensorSource => ({
      name, dims, type: 0, byteLength: values.byteLength, data: () => new Uint8Array(values.buffer),
    });
    const tensors: GgufTensorSource[] = [];
    for (const t of src.header.tensors) {
      if (/^blk\.\d+\.ffn_(gate|up|down)\.weight$/.test(t.name)) continue;
      tensors.push({ name: t.name, dims: [...t.dims], type: t.type, byteLength: src.tensorData(t).byteLength, data: () => src.tensorData(t) });
    }
    for (let i = 0; i < nLayer; i++) {
      const p = `blk.${i}.`;
      // a router with spread-out logits, so that top-k choices are clear of ties
      tensors.push(tensor(`${p}ffn_gate_inp.weight`, [e, f.nExpert], weights([e, f.nExpert], 4 / Math.sqrt(e))));
      tensors.push(tensor(`${p}ffn_gate_exps.weight`, [e, f.ffExp, f.nExpert], weights([e, f.ffExp, f.nExpert])));
      tensors.push(tensor(`${p}ffn_up_exps.weight`, [e, f.ffExp, f.nExpert], weights([e, f.ffExp, f.nExpert])));
      tensors.push(tensor(`${p}ffn_down_exps.weight`, [f.ffExp, e, f.nExpert], weights([f.ffExp, e, f.nExpert])));
      if (f.shared) {
        tensors.push(tensor(`${p}ffn_gate_inp_shexp.weight`, [e], weights([e])));
        tensors.push(tensor(`${p}ffn_gate_shexp.weight`, [e, f.shared], weights([e, f.shared])));
        tensors.push(tensor(`${p}ffn_up_shexp.weight`, [e, f.shared], weights([e, f.shared])));
        tensors.push(tensor(`${p}ffn_down_shexp.weight`, [f.shared, e], weights([f.shared, e])));
      }
    }
    const out = join(dir, `${family}.gguf`);
    await writeGguf(out, kv, tensors);
    return out;
  } finally {
    src.close();
  }
}
