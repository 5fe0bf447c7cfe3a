/**
 * Determinism under concurrency: 1 and N threads write identical bytes, and two quantizeModel
 * calls running at once in one process (different plans, and the same plan twice) write exactly
 * what each writes alone. On stories8L256 with a k-quant mix (the k-quant searches are the
 * kernels with the most per-thread state) and on stories260K with block-32 formats and F16 fallbacks.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../lib/model/load.js';
import { parseBudget } from '../../lib/plan/budget.js';
import { planModel } from '../../lib/quantize/plan-model.js';
import { quantizeModel } from '../../lib/quantize/pipeline.js';
import { data, dataPath, needData } from '../helpers/data.js';

const stories8L256 = dataPath('models/stories8L256/stories8L256-f32.gguf');
const skip = needData(stories8L256, data.stories260K.gguf);
const tmp = mkdtempSync(join(tmpdir(), 'lq-concurrency-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

describe.skipIf(skip)('quantize determinism under threads and concurrency', () => {
  it('1 and 4 threads, and two pipelines at once, give the bytes of serial runs', async () => {
    const big = loadModel(stories8L256);
    const small = loadModel(data.stories260K.gguf);
    try {
      const plans = {
        kquants: await planModel(big, { levels: 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0', budget: await parseBudget({ bits: '4.5' }, big.hparams), granularity: 'tensor', importance: [8, 1, 5, 3, 7, 2, 6, 4] }),
        block32: await planModel(small, { levels: 'Q4_0,Q5_0,Q8_0', budget: await parseBudget({ bits: '7.6' }, small.hparams), granularity: 'tensor', importance: [5, 1, 4, 2, 3] }),
      };
      const model = { kquants: big, block32: small };
      const serial: Record<string, string> = {};
      for (const k of ['kquants', 'block32'] as const) {
        const one = join(tmp, `${k}-t1.gguf`);
        await quantizeModel(model[k], undefined, { plan: plans[k], output: one, threads: 1 });
        serial[k] = sha(one);
        const four = join(tmp, `${k}-t4.gguf`);
        await quantizeModel(model[k], undefined, { plan: plans[k], output: four, threads: 4 });
        expect(sha(four), `${k}: 4 threads`).toBe(serial[k]);
      }
      // Two different pipelines at once, then the same plan twice at once (shared source views).
      const [a, b] = [join(tmp, 'a.gguf'), join(tmp, 'b.gguf')];
      await Promise.all([quantizeModel(big, undefined, { plan: plans.kquants, output: a, threads: 2 }), quantizeModel(small, undefined, { plan: plans.block32, output: b, threads: 2 })]);
      expect(sha(a)).toBe(serial.kquants);
      expect(sha(b)).toBe(serial.block32);
      const [c, d] = [join(tmp, 'c.gguf'), join(tmp, 'd.gguf')];
      await Promise.all([quantizeModel(big, undefined, { plan: plans.kquants, output: c, threads: 3 }), quantizeModel(big, undefined, { plan: plans.kquants, output: d, threads: 1 })]);
      expect(sha(c)).toBe(serial.kquants);
      expect(sha(d)).toBe(serial.kquants);
    } finally {
      big.close();
      small.close();
    }
  }, 600_000);
});
