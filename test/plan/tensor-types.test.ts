/**
 * Tensor-type files and general.file_type without llama.cpp: what the reader refuses (as
 * llama-quantize refuses it, or because a pattern cannot be read safely), the first-match rule,
 * the fallback a replay applies, the anchored one-pattern-per-tensor shape of what we write, and
 * the file type a mix reports (hand-counted).
 */
import { describe, expect, it } from 'vitest';
import { fileTypeOf, parseFtype, type PresetModel } from '../../lib/plan/presets.js';
import { parseTensorTypeFile, tensorTypeFileText, tensorTypesFromOverrides } from '../../lib/plan/tensor-types.js';

const model: PresetModel = {
  architecture: 'llama',
  hparams: { nLayer: 2, nHead: 4, nHeadKv: 2 },
  blocks: [0, 1].map((b) => ({
    tensors: [
      { name: `blk.${b}.attn_norm.weight`, dims: [256], format: 'f32' },
      { name: `blk.${b}.attn_q.weight`, dims: [256, 256], format: 'f32' },
      { name: `blk.${b}.ffn_down.weight`, dims: [352, 256], format: 'f32' },
    ],
  })),
  globals: [
    { name: 'token_embd.weight', dims: [256, 64], format: 'f32' },
    { name: 'output.weight', dims: [256, 64], format: 'f32' },
  ],
};

describe('tensor-type files', () => {
  it('refuse what llama-quantize refuses, typed and naming the file', () => {
    for (const text of ['attn_q', '=q4_K', 'attn_q=', 'attn_q=q9_K', 'attn_q=int4', 'attn_(q=q4_K', 'a=q4_0\0']) {
      expect(() => parseTensorTypeFile(text, 'types.txt'), JSON.stringify(text)).toThrow(expect.objectContaining({ code: 'E_BAD_PLAN', file: 'types.txt' }));
    }
  });

  it('read entries split on any white space, types in any case; the first match wins; fallbacks apply', () => {
    const o = parseTensorTypeFile('blk\\.1\\.attn_q=Q8_0\tATTN_Q=q4_K\r\n ffn_down=q4_K\n.*=f16\n');
    expect(o.map((x) => x.format)).toEqual(['q8_0', 'q4_K', 'q4_K', 'f16']);
    const types = tensorTypesFromOverrides(model, o);
    expect(types.get('blk.1.attn_q.weight')).toBe('q8_0');
    expect(types.get('blk.0.attn_q.weight')).toBe('q4_K');
    // 352-wide rows cannot hold q4_K: llama.cpp's fallback is q5_0.
    expect(types.get('blk.0.ffn_down.weight')).toBe('q5_0');
    expect(types.get('output.weight')).toBe('f16');
    // Norms are never quantized by llama-quantize: they keep their source type.
    expect(types.get('blk.0.attn_norm.weight')).toBe('f32');
  });

  it('without a preset every quantized tensor must be named; with one, the rest follow its mix', () => {
    const o = parseTensorTypeFile('attn_q=q4_K');
    expect(() => tensorTypesFromOverrides(model, o, undefined, {}, 'types.txt')).toThrow(expect.objectContaining({ code: 'E_BAD_PLAN', tensor: 'blk.0.ffn_down.weight' }));
    const t = tensorTypesFromOverrides(model, o, parseFtype('Q8_0'));
    expect(t.get('blk.0.attn_q.weight')).toBe('q4_K');
    expect(t.get('blk.0.ffn_down.weight')).toBe('q8_0');
  });

  it('write one anchored pattern per role and type, each tensor named by exactly one', () => {
    const tensors = [
      ...model.blocks.flatMap((b) => b.tensors).map((t) => ({ ...t, format: t.name.includes('attn_q') ? (t.name.startsWith('blk.0') ? 'q4_K' : 'q6_K') : t.dims.length > 1 ? 'q5_0' : 'f32' })),
      { ...model.globals[0]!, format: 'q4_K' },
      { ...model.globals[1]!, format: 'q6_K' },
    ];
    const f = tensorTypeFileText(tensors, () => 'f32');
    expect(f.text.split('\n').filter(Boolean).sort()).toEqual([
      '^blk\\.(0|1)\\.ffn_down\\.weight$=q5_0',
      '^blk\\.0\\.attn_q\\.weight$=q4_K',
      '^blk\\.1\\.attn_q\\.weight$=q6_K',
      '^output\\.weight$=q6_K',
      '^token_embd\\.weight$=q4_K',
    ]);
    expect(f.unreplayable).toEqual([]);
    const o = parseTensorTypeFile(f.text);
    for (const t of tensors.filter((x) => x.dims.length > 1)) expect(o.filter((x) => x.pattern.test(t.name)).length).toBe(1);
    expect(tensorTypesFromOverrides(model, o)).toEqual(new Map(tensors.map((t) => [t.name, t.format])));
    // Weights by type: q5_0 2·352·256, q4_K 256·256 + 256·64, q6_K 256·256 + 256·64 → q5_0 dominates.
    expect(f.ftype.name).toBe('Q5_0');
    // A norm stored in another type than its source cannot be replayed; our own formats cannot be written.
    expect(tensorTypeFileText([{ name: 'blk.0.attn_norm.weight', dims: [256], format: 'f16' }], () => 'f32').unreplayable).toEqual(['blk.0.attn_norm.weight']);
    expect(() => tensorTypeFileText([{ name: 'blk.0.attn_q.weight', dims: [256, 256], format: 'int4_g64' }], () => 'f32')).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }));
  });
});

describe('general.file_type', () => {
  it('is the preset id for a preset, else the type storing the most 2-D weights (as llama.cpp names it)', () => {
    expect(fileTypeOf([], 'Q4_K_M')).toBe(15);
    const t = (format: string, n: number) => ({ format, dims: [n, 256] });
    // q4_K holds 3·256·256 weights, q6_K 2·256·256; the 1-D f32 norms do not count.
    expect(fileTypeOf([t('q4_K', 256), t('q4_K', 512), t('q6_K', 512), { format: 'f32', dims: [256] }])).toBe(15);
    expect(fileTypeOf([t('q3_K', 256)])).toBe(12); // Q3_K_M, as llama.cpp's loader guesses
    expect(fileTypeOf([t('q8_0', 256), t('q4_0', 256)])).toBe(7); // a tie: the first met
    expect(fileTypeOf([{ format: 'f32', dims: [256] }])).toBe(0);
  });
});
