// The CUDA forward block and ZD (native/cuda/forward, native/cuda/stats) against the CPU path on
// stories260K: hidden states and LIM cosines of every block, ZD counts. Runs only in the CUDA
// build on a machine with a GPU; otherwise skipped with the reason printed.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { loadModel } from '../../lib/model/load.js';
import { Decoder } from '../../lib/eval/decoder.js';
import { zdRoles } from '../../lib/importance/zd.js';
import { data, needData } from '../helpers/data.js';

const addon = native();
const hasCuda = addon.buildInfo().backend === 'cuda' && typeof addon.cudaDevices === 'function' && (() => {
  try { return addon.cudaDevices!().length > 0; } catch { return false; }
})();
if (!hasCuda) console.warn(`test/forward/cuda skipped: the loaded addon is the ${addon.buildInfo().backend} build (no CUDA addon or no GPU)`);

describe.skipIf(!hasCuda || !!needData(data.stories260K.gguf))('CUDA forward and ZD equal the CPU path', () => {
  it('hidden states and cosines of every block', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const dec = new Decoder(model);
      const tokens = Int32Array.from({ length: 300 }, (_, i) => (i * 31 + 1) % 512);
      const seqLens = Int32Array.from([200, 100]);
      const cpu = await dec.embed(tokens);
      const gpu = Float32Array.from(cpu);
      const n = tokens.length;
      const cc = { block: new Float32Array(n), attn: new Float32Array(n), mlp: new Float32Array(n) };
      const gc = { block: new Float32Array(n), attn: new Float32Array(n), mlp: new Float32Array(n) };
      for (let i = 0; i < dec.nLayer; i++) {
        await addon.forwardBlock({ config: dec.config, weights: dec.blockWeights(i), hidden: cpu, seqLens, cos: cc });
        await addon.forwardBlock({ config: dec.config, weights: dec.blockWeights(i), hidden: gpu, seqLens, cos: gc, device: 'cuda' });
        let d = 0, s = 0;
        for (let k = 0; k < cpu.length; k++) { d = Math.max(d, Math.abs(cpu[k]! - gpu[k]!)); s = Math.max(s, Math.abs(cpu[k]!)); }
        expect(d / s, `block ${i}`).toBeLessThan(1e-4);
        for (let t = 0; t < n; t += 7) expect(gc.block[t]).toBeCloseTo(cc.block[t]!, 4);
      }
    } finally {
      model.close();
    }
  });

  it('ZD counts', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      for (const b of model.blocks) {
        const tensors = b.tensors.filter((t) => zdRoles.has(t.role)).map((t) => ({ data: t.data, format: t.format }));
        const cpu = await addon.zdGroup({ tensors, mode: 'two-pass' });
        const gpu = await addon.zdGroup({ tensors, device: 'cuda' });
        expect(Math.abs(gpu.group.above - cpu.group.above)).toBeLessThanOrEqual(1);
        gpu.tensors.forEach((t, k) => expect(Math.abs(t.above - cpu.tensors[k]!.above)).toBeLessThanOrEqual(1));
      }
    } finally {
      model.close();
    }
  });
});

describe('device option without the CUDA build', () => {
  it.skipIf(addon.buildInfo().backend === 'cuda')('gives E_UNSUPPORTED', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const dec = new Decoder(model);
      const hidden = await dec.embed(Int32Array.from([1, 2, 3]));
      expect(() => addon.forwardBlock({ config: dec.config, weights: dec.blockWeights(0), hidden, seqLens: Int32Array.from([3]), device: 'cuda' })).toThrow(/CUDA build/);
    } finally {
      model.close();
    }
  });
});
