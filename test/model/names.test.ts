// HF ↔ GGUF tensor names and the q/k RoPE row permutation (pure TS, no addon, no data).
import { describe, expect, it } from 'vitest';
import { isLayerquantError } from '../../lib/errors.js';
import { ggufToHfName, hfToGgufName, parseGgufName, parseHfName } from '../../lib/model/names.js';
import { ggufToHfRows, hfToGgufRows, invertPermutation, permuteRows, ropeRowPermutation } from '../../lib/model/permute.js';

describe('tensor names', () => {
  const pairs: [string, string][] = [
    ['model.embed_tokens.weight', 'token_embd.weight'],
    ['model.norm.weight', 'output_norm.weight'],
    ['lm_head.weight', 'output.weight'],
    ['model.layers.0.self_attn.q_proj.weight', 'blk.0.attn_q.weight'],
    ['model.layers.1.self_attn.k_proj.weight', 'blk.1.attn_k.weight'],
    ['model.layers.2.self_attn.v_proj.weight', 'blk.2.attn_v.weight'],
    ['model.layers.3.self_attn.o_proj.weight', 'blk.3.attn_output.weight'],
    ['model.layers.4.input_layernorm.weight', 'blk.4.attn_norm.weight'],
    ['model.layers.5.post_attention_layernorm.weight', 'blk.5.ffn_norm.weight'],
    ['model.layers.16.mlp.gate_proj.weight', 'blk.16.ffn_gate.weight'],
    ['model.layers.31.mlp.up_proj.weight', 'blk.31.ffn_up.weight'],
    ['model.layers.100.mlp.down_proj.weight', 'blk.100.ffn_down.weight'],
  ];
  it.each(pairs)('%s ↔ %s', (hf, gguf) => {
    expect(hfToGgufName(hf)).toBe(gguf);
    expect(ggufToHfName(gguf)).toBe(hf);
  });
  it('parses roles and block indices', () => {
    expect(parseGgufName('blk.7.ffn_down.weight')).toEqual({ role: 'ffn_down', block: 7 });
    expect(parseGgufName('output.weight')).toEqual({ role: 'output' });
    expect(parseHfName('model.layers.3.mlp.up_proj.weight')).toEqual({ role: 'ffn_up', block: 3 });
  });
  it('leaves unknown names alone', () => {
    for (const n of ['rope_freqs.weight', 'blk.0.attn_q.bias', 'blk.x.attn_q.weight', 'model.layers.0.self_attn.rotary_emb.inv_freq', 'model.layers.0.mlp.experts.0.w1.weight']) {
      expect(hfToGgufName(n)).toBeUndefined();
      expect(ggufToHfName(n)).toBeUndefined();
    }
  });
});

describe('RoPE row permutation (HF rotate-half → GGUF interleaved)', () => {
  it('matches llama.cpp\'s reshape(n_head, 2, hd/2) + swapaxes(1, 2) on a hand-made example', () => {
    // 2 heads of size 4: HF rows per head are [x0 x1 | y0 y1] (halves), GGUF wants [x0 y0 x1 y1].
    expect([...ropeRowPermutation(8, 2)]).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    // 1 head of size 8: [a b c d | e f g h] → [a e b f c g d h]
    expect([...ropeRowPermutation(8, 1)]).toEqual([0, 4, 1, 5, 2, 6, 3, 7]);
  });

  it('moves whole rows and round-trips', () => {
    const nRows = 12; // 3 heads of 4
    const rowLen = 5;
    const src = new Float32Array(nRows * rowLen);
    for (let r = 0; r < nRows; r++) for (let c = 0; c < rowLen; c++) src[r * rowLen + c] = r * 100 + c;
    const bytes = new Uint8Array(src.buffer);
    const gguf = hfToGgufRows(bytes, nRows, 3);
    const g = new Float32Array(gguf.buffer, gguf.byteOffset, gguf.byteLength / 4);
    const perm = ropeRowPermutation(nRows, 3);
    for (let r = 0; r < nRows; r++) for (let c = 0; c < rowLen; c++) expect(g[r * rowLen + c]).toBe(perm[r]! * 100 + c);
    // head 1 (rows 4..7) in GGUF order = HF rows 4, 6, 5, 7
    expect([g[4 * rowLen], g[5 * rowLen], g[6 * rowLen], g[7 * rowLen]]).toEqual([400, 600, 500, 700]);
    const back = ggufToHfRows(gguf, nRows, 3);
    expect(Buffer.compare(back, Buffer.from(bytes))).toBe(0);
    expect([...invertPermutation(invertPermutation(perm))]).toEqual([...perm]);
  });

  it('works on any row byte size (e.g. quantized rows)', () => {
    const rowBytes = 34; // one q8_0 block
    const src = new Uint8Array(8 * rowBytes).map((_, i) => Math.floor(i / rowBytes));
    const out = permuteRows(src, rowBytes, ropeRowPermutation(8, 2));
    expect([...Array(8).keys()].map((r) => out[r * rowBytes])).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });

  it('rejects shapes it cannot permute with E_SHAPE', () => {
    expect(() => ropeRowPermutation(10, 4)).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
    expect(() => ropeRowPermutation(6, 2)).toThrow(expect.objectContaining({ code: 'E_SHAPE' })); // head size 3 is odd
    try {
      permuteRows(new Uint8Array(10), 4, ropeRowPermutation(4, 1), 'blk.0.attn_q.weight');
      expect.unreachable();
    } catch (err) {
      expect(isLayerquantError(err, 'E_SHAPE')).toBe(true);
      expect((err as Error).message).toContain('blk.0.attn_q.weight');
    }
  });
});
