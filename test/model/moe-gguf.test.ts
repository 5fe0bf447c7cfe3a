/**
 * Mixture-of-experts GGUFs (mixtral as llama with experts, qwen2moe with its shared expert,
 * qwen3moe), tiny and synthetic (test/helpers/moe-fixtures.ts): they load with their 3-D expert
 * tensors, our forward pass matches the float64 oracle block by block and llama.cpp's logits
 * (child process), and a Q8_0 plan quantizes each expert tensor as one tensor (the router kept as
 * stored, as llama-quantize keeps it) into a GGUF llama.cpp loads, with our logits matching its own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGguf } from '../../lib/io/gguf-read.js';
import { loadModel } from '../../lib/model/load.js';
import { Decoder } from '../../lib/eval/decoder.js';
import { zd } from '../../lib/importance/zd.js';
import { planModel } from '../../lib/quantize/plan-model.js';
import { writePlan } from '../../lib/quantize/write.js';
import { MOE_FAMILIES, writeMoeGguf, type MoeFamily } from '../helpers/moe-fixtures.js';
import { data, needData } from '../helpers/data.js';
import { compareLogits, llamaLogitsOf, oracleBlockDiff, ourLogits, seededTokens } from '../helpers/logits-compare.js';

const dir = mkdtempSync(join(tmpdir(), 'lq-moe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 80;
const tokens = (): Int32Array => seededTokens(N);

describe.skipIf(needData(data.stories260K.hf))('mixture-of-experts GGUFs', () => {
  for (const family of Object.keys(MOE_FAMILIES) as MoeFamily[]) {
    describe(family, () => {
      const f = MOE_FAMILIES[family];
      const path = join(dir, `${family}.gguf`);

      it('loads its 3-D experts; the forward pass matches float64 block by block', async () => {
        await writeMoeGguf(family, dir);
        const m = loadModel(path);
        try {
          expect(m.architecture).toBe(f.arch);
          expect(m.hparams.nExpert).toBe(f.nExpert);
          const exps = m.blocks[0]!.tensors.find((t) => t.role === 'ffn_down_exps')!;
          expect(exps.dims).toEqual([f.ffExp, 64, f.nExpert]);
          const dec = new Decoder(m);
          const ids = tokens();
          const worst = await oracleBlockDiff(dec, ids, Int32Array.from([30, N - 30]));
          expect(worst).toBeLessThan(2e-5);
          // ZD reads the experts (3-D, whole) and the shared expert, not the router
          const parts = (await zd(m)).blocks[0]!.parts.map((p) => p.name);
          expect(parts).toEqual(expect.arrayContaining(['blk.0.ffn_gate_exps.weight', 'blk.0.ffn_up_exps.weight', 'blk.0.ffn_down_exps.weight']));
          expect(parts).not.toContain('blk.0.ffn_gate_inp.weight');
          if (f.shared) expect(parts).toContain('blk.0.ffn_down_shexp.weight');
        } finally {
          m.close();
        }
      });

      it('our logits match llama.cpp\'s', async () => {
        const ids = tokens();
        const cmp = compareLogits(await ourLogits(path, ids), await llamaLogitsOf(path, ids), 512);
        console.info(`${family}: ours vs llama.cpp over ${cmp.n} positions: max |Δlogit| ${cmp.maxAbs.toExponential(3)}, same argmax ${(100 * cmp.sameArgmax).toFixed(1)}%`);
        expect(cmp.sameArgmax).toBeGreaterThanOrEqual(0.99);
        expect(cmp.maxAbs).toBeLessThan(0.02);
      });

      it('Q8_0: each expert tensor is one planned tensor, the router stays F32; llama.cpp loads the file and our logits match its own', async () => {
        const q = join(dir, `${family}-q8.gguf`);
        const m = loadModel(path);
        try {
          const plan = await planModel(m, { levels: ['q8_0'], budget: { kind: 'bits', bits: 8.5 }, strategy: 'uniform' });
          await writePlan(m, plan, q);
        } finally {
          m.close();
        }
        const g = openGguf(q);
        try {
          const exps = g.tensor('blk.1.ffn_gate_exps.weight')!;
          expect(exps.dims).toEqual([64, f.ffExp, f.nExpert]);
          expect(exps.type).toBe(8); // Q8_0
          expect(g.tensor('blk.1.ffn_gate_inp.weight')!.type).toBe(0); // F32
        } finally {
          g.close();
        }
        const ids = tokens();
        const cmp = compareLogits(await ourLogits(q, ids), await llamaLogitsOf(q, ids), 512);
        console.info(`${family} Q8_0: ours vs llama.cpp: max |Δlogit| ${cmp.maxAbs.toExponential(3)}, same argmax ${(100 * cmp.sameArgmax).toFixed(1)}%`);
        // llama.cpp rounds activations to 8 bits in its Q8_0 matmuls (and so may route a token differently); we multiply in f32.
        expect(cmp.sameArgmax).toBeGreaterThanOrEqual(0.9);
      });
    });
  }
});
