/**
 * The same plan gives the same file: sha256 of the GGUF that each fixed recipe writes (library
 * calls and CLI runs, GGUF and HF sources, block and tensor granularity, size budgets, pruning,
 * measured sensitivity, the default estimate, HF→GGUF conversion), and of the plan itself (every tensor's stored
 * format), against values recorded from the build before the pipeline was reshaped
 * (`output-pin.json`). A refactor that changes one output byte or one planned format fails here.
 * Re-record only for a deliberate change: LQ_PIN_RECORD=1 npx vitest run test/plan/output-pin.test.ts
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.js';
import { data, dataPath, needData } from '../helpers/data.js';

const PINS = new URL('./output-pin.json', import.meta.url);
const record = process.env.LQ_PIN_RECORD === '1';
const pins: Record<string, { file: string; plan?: string }> = existsSync(PINS) && !record ? JSON.parse(readFileSync(PINS, 'utf8')) : {};
const recorded: typeof pins = {};

const S260 = data.stories260K.gguf;
const S260_HF = data.stories260K.hf;
const S8 = dataPath('models/stories8L256/stories8L256-f32.gguf');
const S8_HF = dataPath('models/stories8L256/hf');
const SCORES = '0.5,0.1,0.3,0.2,0.9';

const sha = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

async function cli(args: string[]): Promise<string> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
  if (code !== 0) throw new Error(`layerquant ${args.join(' ')} exited ${code}: ${err}`);
  return out;
}

/** The plan's identity: every tensor's name, stored format and bytes, in write order. */
function planKey(plan: { tensors: { name: string; format: string; bytes: number }[] }): string {
  return sha(plan.tensors.map((t) => `${t.name}:${t.format.toLowerCase()}:${t.bytes}`).join('\n'));
}

const cases: { name: string; model: string; args: string[] }[] = [
  { name: 's260k-q40q80-bits7.5-given-last', model: S260, args: ['--bits', '7.5', '--levels', 'Q4_0,Q8_0', '--scores', SCORES, '--globals', 'last'] },
  // The old default (zd, block granularity) named explicitly: these pins predate the estimate.
  { name: 's260k-default-levels-bits7-zd', model: S260, args: ['--bits', '7', '--method', 'zd'] },
  { name: 's260k-tensor-bits7.5-given', model: S260, args: ['--bits', '7.5', '--levels', 'Q4_0,Q8_0', '--scores', SCORES, '--granularity', 'tensor'] },
  { name: 's260k-size330000', model: S260, args: ['--size', '330000', '--levels', 'Q4_0,Q8_0', '--scores', SCORES] },
  { name: 's260k-prune', model: S260, args: ['--bits', '8', '--levels', 'Q8_0', '--scores', SCORES, '--strategy', 'prune'] },
  { name: 's260k-hf-uniform', model: S260_HF, args: ['--bits', '9.9', '--levels', 'Q4_0,Q8_0', '--strategy', 'uniform', '--method', 'none'] },
  { name: 's260k-hf-lim-paper', model: S260_HF, args: ['--bits', '7', '--levels', 'Q4_0,Q5_0,Q8_0', '--method', 'lim', '--strategy', 'paper'] },
  { name: 's260k-sensitivity', model: S260, args: ['--bits', '7', '--levels', 'Q4_0,Q8_0', '--method', 'sensitivity', '--tokens', '256'] },
  { name: 's260k-globals-source', model: S260, args: ['--bits', '8', '--levels', 'Q4_0,Q8_0', '--scores', SCORES, '--globals', 'source'] },
  { name: 's8-default-bits4.5-zd', model: S8, args: ['--bits', '4.5', '--method', 'zd'] },
  { name: 's8-tensor-size5MB-greedy', model: S8, args: ['--size', '5MB', '--granularity', 'tensor', '--strategy', 'greedy', '--method', 'zd'] },
  { name: 's8-hf-k-levels-bits3.5', model: S8_HF, args: ['--bits', '3.5', '--levels', 'Q2_K,Q4_K,Q6_K', '--globals', 'Q8_0', '--method', 'zd'] },
  // The default since the estimate (tensor granularity, the estimate's table and imatrix).
  { name: 's260k-default-bits7', model: S260, args: ['--bits', '7'] },
  { name: 's8-default-size-q4km', model: S8, args: ['--size', '3990240'] },
];

describe.skipIf(needData(S260, S260_HF, S8, S8_HF))('output bytes are pinned', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lq-pin-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    if (record) writeFileSync(PINS, `${JSON.stringify(recorded, null, 2)}\n`);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const out = join(dir, `${c.name}.gguf`);
      const planPath = join(dir, `${c.name}.plan.json`);
      await cli(['quantize', c.model, ...c.args, '--save-plan', planPath, '-o', out]);
      const got = { file: sha(readFileSync(out)), plan: planKey(JSON.parse(readFileSync(planPath, 'utf8'))) };
      recorded[c.name] = got;
      if (!record) expect(got, c.name).toEqual(pins[c.name]);
    });
  }

  it('convert: HF folder → F16 GGUF', async () => {
    const out = join(dir, 'convert-f16.gguf');
    await cli(['convert', S260_HF, '-o', out, '--type', 'f16']);
    const got = { file: sha(readFileSync(out)) };
    recorded['convert-s260k-hf-f16'] = got;
    if (!record) expect(got).toEqual(pins['convert-s260k-hf-f16']);
  });
});
