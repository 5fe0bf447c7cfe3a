/**
 * Mixture-of-experts HF folders (mixtral, qwen2moe, qwen3moe; tiny synthetic ones at the real
 * layouts, test/helpers/moe-hf-fixtures.ts): the per-expert 2-D tensors load as 3-D stacks made
 * of views; `inspect`, `convert`, `quantize`, `eval`, `rank --method zd` and `imatrix` run from
 * the folder. llama.cpp loads the converted GGUF and its logits match ours on it; our forward on
 * the folder equals our forward on the converted GGUF; quantizing the folder writes the bytes
 * quantizing the converted GGUF writes; eval, ZD and the imatrix give the GGUF's figures.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGguf } from '../../lib/io/gguf-read.js';
import { readImatrix } from '../../lib/imatrix/index.js';
import { openSafetensors } from '../../lib/io/safetensors.js';
import { loadModel } from '../../lib/model/load.js';
import { writeSafetensors } from '../helpers/arch-fixtures.js';
import { cliOk } from '../helpers/cli.js';
import { data, needData } from '../helpers/data.js';
import { compareLogits, llamaLogitsOf, maxAbsDiff, ourLogits, seededTokens } from '../helpers/logits-compare.js';
import { MOE_HF_FAMILIES, writeMoeHfFixture, type MoeHfFamily } from '../helpers/moe-hf-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'lq-moe-hf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 80;
const tokens = (): Int32Array => seededTokens(N);

describe.skipIf(needData(data.stories260K.hf, data.text.tinystories))('mixture-of-experts HF folders', () => {
  const text = join(dir, 'text.txt');
  writeFileSync(text, readFileSync(data.text.tinystories, 'utf8').slice(400_000, 412_000));

  it('refuses what llama.cpp would compute differently, and expert counts the folder does not hold, with typed errors', () => {
    const base = writeMoeHfFixture('qwen3moe', join(dir, 'bad'));
    const cfg = JSON.parse(readFileSync(join(base, 'config.json'), 'utf8')) as Record<string, unknown>;
    const withConfig = (patch: Record<string, unknown>): unknown => {
      writeFileSync(join(base, 'config.json'), JSON.stringify({ ...cfg, ...patch }));
      try {
        loadModel(base).close();
        return undefined;
      } catch (err) {
        return err;
      }
    };
    // transformers' Qwen3Moe renormalizes only with norm_topk_prob (default false); llama.cpp always does
    expect(withConfig({ norm_topk_prob: false })).toMatchObject({ code: 'E_UNSUPPORTED' });
    expect(withConfig({ norm_topk_prob: undefined })).toMatchObject({ code: 'E_UNSUPPORTED' });
    expect(withConfig({ mlp_only_layers: [1] })).toMatchObject({ code: 'E_UNSUPPORTED' });
    expect(withConfig({ num_experts_per_tok: 9 })).toMatchObject({ code: 'E_BAD_CONFIG' });
    // an expert count the folder does not hold: the router's shape says so
    for (const n of [7, 9]) expect(withConfig({ num_experts: n })).toMatchObject({ code: 'E_SHAPE', tensor: 'model.layers.0.mlp.gate.weight' });
    expect(withConfig({})).toBeUndefined();
    // an expert missing, or of another shape than expert 0
    const file = join(base, 'model.safetensors');
    const st = openSafetensors(base);
    const all = [...st.tensors.values()].map((t) => ({ name: t.name, shape: [...t.shape], values: new Float32Array(t.data.slice().buffer) }));
    st.close();
    const missing = 'model.layers.1.mlp.experts.3.up_proj.weight';
    writeSafetensors(file, all.filter((t) => t.name !== missing));
    expect(withConfig({})).toMatchObject({ code: 'E_BAD_CONFIG', tensor: missing });
    writeSafetensors(file, all.map((t) => (t.name === missing ? { ...t, shape: [t.shape[0]! / 2, t.shape[1]! * 2] } : t)));
    expect(withConfig({})).toMatchObject({ code: 'E_SHAPE', tensor: missing });
  });

  for (const family of Object.keys(MOE_HF_FAMILIES) as MoeHfFamily[]) {
    describe(family, () => {
      const c = MOE_HF_FAMILIES[family].config;
      const nExpert = (c.num_local_experts ?? c.num_experts) as number;
      const ffExp = (c.moe_intermediate_size ?? c.intermediate_size) as number;
      let hf = '';
      const gguf = join(dir, `${family}.gguf`);

      it('loads experts as 3-D stacks of views; inspect and convert run; llama.cpp\'s logits on the GGUF match ours, and ours on the folder equal ours on the GGUF', async () => {
        hf = writeMoeHfFixture(family, dir);
        const m = loadModel(hf);
        try {
          const down = m.blocks[1]!.tensors.find((t) => t.role === 'ffn_down_exps')!;
          expect(down.dims).toEqual([ffExp, 64, nExpert]);
          expect(down.parts).toHaveLength(nExpert);
          expect(m.hparams.nExpertUsed).toBe(c.num_experts_per_tok);
        } finally {
          m.close();
        }
        const info = JSON.parse((await cliOk('inspect', hf, '--json')).stdout);
        expect(JSON.stringify(info)).toContain('blk.1.ffn_down_exps.weight');
        await cliOk('convert', hf, '-o', gguf);
        const g = openGguf(gguf);
        try {
          const arch = g.get('general.architecture') as string;
          expect(g.get(`${arch}.expert_count`)).toBe(nExpert);
          expect(g.tensor('blk.0.ffn_gate_exps.weight')!.dims).toEqual([64, ffExp, nExpert]);
          expect(g.tensor('blk.0.ffn_gate_inp.weight')!.type).toBe(0); // the router stays F32
        } finally {
          g.close();
        }
        const ids = tokens();
        const onGguf = await ourLogits(gguf, ids);
        const cmp = compareLogits(onGguf, await llamaLogitsOf(gguf, ids), 512);
        const self = maxAbsDiff(await ourLogits(hf, ids), onGguf);
        console.info(`${family} HF: ours vs llama.cpp on the converted GGUF: max |Δlogit| ${cmp.maxAbs.toExponential(3)}, same argmax ${(100 * cmp.sameArgmax).toFixed(1)}%; ours HF folder vs converted GGUF: max |Δlogit| ${self.toExponential(3)}`);
        expect(cmp.sameArgmax).toBeGreaterThanOrEqual(0.99);
        expect(cmp.maxAbs).toBeLessThan(0.02);
        expect(self).toBeLessThan(1e-4);
      }, 120_000);

      it('quantize from the folder writes the converted GGUF\'s bytes; llama.cpp loads it', async () => {
        const fromHf = join(dir, `${family}-hf-q8.gguf`), fromGguf = join(dir, `${family}-gguf-q8.gguf`);
        const recipe = ['--bits', '8.5', '--levels', 'Q8_0', '--method', 'none'];
        await cliOk('quantize', hf, ...recipe, '-o', fromHf);
        await cliOk('quantize', gguf, ...recipe, '-o', fromGguf);
        const a = openGguf(fromHf), b = openGguf(fromGguf);
        try {
          expect(a.header.tensors.map((t) => t.name).sort()).toEqual(b.header.tensors.map((t) => t.name).sort());
          for (const t of a.header.tensors) {
            const u = b.tensor(t.name)!;
            expect({ type: t.type, dims: t.dims }, t.name).toEqual({ type: u.type, dims: u.dims });
            expect(Buffer.from(a.tensorData(t)).equals(Buffer.from(b.tensorData(u))), t.name).toBe(true);
          }
          expect(a.tensor('blk.0.ffn_up_exps.weight')!.type).toBe(8); // Q8_0
        } finally {
          a.close(); b.close();
        }
        const ids = tokens();
        const cmp = compareLogits(await ourLogits(fromHf, ids), await llamaLogitsOf(fromHf, ids), 512);
        // llama.cpp rounds activations to 8 bits in its Q8_0 matmuls (and so may route a token differently).
        expect(cmp.sameArgmax).toBeGreaterThanOrEqual(0.9);
      }, 120_000);

      it('eval, rank --method zd and imatrix from the folder give the converted GGUF\'s figures', async () => {
        const ev = async (p: string): Promise<number> => JSON.parse((await cliOk('eval', p, '--text', text, '-c', '64', '--chunks', '4', '--json')).stdout).perplexity as number;
        const [pa, pb] = [await ev(hf), await ev(gguf)];
        expect(Math.abs(pa - pb) / pb).toBeLessThan(1e-5);
        const zd = async (p: string): Promise<number[]> => (JSON.parse((await cliOk('rank', p, '--method', 'zd', '--json')).stdout).blocks as { measure: number }[]).map((b) => b.measure);
        expect(await zd(hf)).toEqual(await zd(gguf));
        const ia = join(dir, `${family}-hf-imatrix.gguf`), ib = join(dir, `${family}-gguf-imatrix.gguf`);
        await cliOk('imatrix', hf, '--calib', text, '-c', '64', '--chunks', '4', '-o', ia);
        await cliOk('imatrix', gguf, '--calib', text, '-c', '64', '--chunks', '4', '-o', ib);
        const x = readImatrix(ia), y = readImatrix(ib);
        expect([...x.entries.keys()]).toEqual([...y.entries.keys()]);
        let worst = 0;
        for (const [name, e] of y.entries) {
          const o = x.entries.get(name)!;
          expect(Array.from(o.counts), name).toEqual(Array.from(e.counts));
          for (let i = 0; i < e.sums.length; i++) worst = Math.max(worst, Math.abs(o.sums[i]! - e.sums[i]!) / Math.max(e.sums[i]!, 1e-30));
        }
        console.info(`${family} HF: perplexity ${pa} (GGUF ${pb}); imatrix worst column vs the GGUF's ${worst.toExponential(2)}`);
        expect(worst).toBeLessThan(1e-5);
        // quantize --calib from the folder: every block matrix, expert stacks included, gets its entry
        const { stderr } = await cliOk('quantize', hf, '--bits', '6', '--levels', 'Q4_0,Q8_0', '--calib', text, '-o', join(dir, `${family}-calib.gguf`));
        expect(stderr).not.toMatch(/no entry for blk\./);
      }, 120_000);
    });
  }
});
