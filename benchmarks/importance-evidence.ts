/**
 * Evidence for the direction of the importance scores (docs/METHOD.md): for each block of a real
 * model, quantize only that block's seven linear weights (default int2_g64, 2.5 bits) and measure
 * how much the perplexity rises (the block's measured sensitivity); then compare the ranking by
 * sensitivity with LIM's and ZD's (Spearman ρ), with ZD taken both ways (importance = −ZD, the
 * paper's direction, and +ZD).
 *
 *   npx vite-node benchmarks/importance-evidence.ts [--model file] [--format int2_g64] [--chunks 20] [--ctx 256]
 *
 * BabyLlama needs text in its alphabet: newlines become spaces and other characters are skipped.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../lib/model/load.js';
import { perplexityOfTokens } from '../lib/eval/perplexity.js';
import { Decoder, type DecoderModel, type DecoderTensor } from '../lib/eval/decoder.js';
import { loadTokenizer } from '../lib/tokenize/tokenizer.js';
import { quantizeTensor } from '../lib/quantize/tensor.js';
import { formatInfo } from '../lib/quantize/formats.js';
import { lim } from '../lib/importance/lim.js';
import { zd, zdRoles } from '../lib/importance/zd.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const shared = join(process.cwd(), '../shared/data');
const path = arg('model', join(shared, 'models/stories260K/stories260K-f32.gguf'));
const fmt = arg('format', 'int2_g64');
const chunks = Number(arg('chunks', '20'));
const ctx = Number(arg('ctx', '256'));

function ranks(v: number[]): number[] {
  const order = v.map((x, i) => [x, i] as const).sort((a, b) => b[0] - a[0]);
  const r = new Array<number>(v.length);
  order.forEach(([, i], k) => { r[i] = k; });
  return r;
}
function spearman(a: number[], b: number[]): number {
  const ra = ranks(a), rb = ranks(b), n = a.length;
  const d2 = ra.reduce((s, x, i) => s + (x - rb[i]!) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

const model = loadModel(path);
const tok = loadTokenizer(model.tokenizer, { unknown: 'skip' });
const text = readFileSync(join(shared, 'text/tinystories/tinystories-valid-head.txt'), 'utf8').replace(/\n/g, ' ');
const tokens = tok.encode(text.slice(0, 400_000), { addBos: true });
const base = await perplexityOfTokens(new Decoder(model), tokens, tok.bosId, { context: ctx, chunks });
const info = formatInfo(fmt);
const sens: number[] = [];
for (const b of model.blocks) {
  const blocks = await Promise.all(model.blocks.map(async (bb) => bb.index !== b.index ? bb : {
    index: bb.index,
    tensors: await Promise.all(bb.tensors.map(async (t): Promise<DecoderTensor> => {
      if (!zdRoles.has(t.role)) return t;
      const q = await quantizeTensor({ data: t.data, format: 'f32', dims: t.dims, name: t.name }, fmt);
      return { ...t, data: q, format: info.name };
    })),
  }));
  const m: DecoderModel = { ...model, blocks };
  const r = await perplexityOfTokens(new Decoder(m), tokens, tok.bosId, { context: ctx, chunks });
  sens.push(Math.log(r.perplexity / base.perplexity));
}
const calib = text.slice(0, 200_000);
const l = await lim(model, { text: calib, tokens: 4096, unknown: 'skip' });
const z = await zd(model);
const limImp = l.blocks.map((b) => b.importance);
const zdImp = z.blocks.map((b) => b.importance);
console.log(`model ${path}; ${fmt} on one block at a time; PPL over ${chunks} × ${ctx} tokens; base PPL ${base.perplexity.toFixed(4)}`);
console.log('| block | Δ log PPL (measured sensitivity) | LIM importance | ZD | −ZD rank | sensitivity rank |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
const rs = ranks(sens), rz = ranks(zdImp);
model.blocks.forEach((b, i) => console.log(`| ${i} | ${sens[i]!.toFixed(4)} | ${limImp[i]!.toFixed(4)} | ${z.blocks[i]!.measure.toFixed(4)} | ${rz[i]! + 1} | ${rs[i]! + 1} |`));
console.log(`Spearman ρ with measured sensitivity: LIM ${spearman(limImp, sens).toFixed(2)}, −ZD ${spearman(zdImp, sens).toFixed(2)}, +ZD ${spearman(zdImp.map((v) => -v), sens).toFixed(2)}`);
model.close();
