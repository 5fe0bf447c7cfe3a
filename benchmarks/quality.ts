/**
 * Quality at equal size: our plans against llama.cpp's stock mixes at the same tensor bytes.
 *
 *   npx node-gyp build && npx tsc -p tsconfig.json && npx vite-node benchmarks/quality.ts -- \
 *     [--model stories|babyllama] [--chunks 100] [-c 512] [--llama]
 *
 * stories260K: llama.cpp's `llama_model_quantize` (libllama of node-llama-cpp via koffi, in a child
 * process) writes the Q4_0, Q4_K_M and Q8_0 files; their tensor bytes are the targets. For each
 * target our planner gets the same covered bytes (bits per weight = covered bytes × 8 / weights;
 * norms are F32 in both), the plan is quantized in memory and our forward pass measures perplexity
 * on the text (llama-perplexity's convention). llama.cpp's own files are measured with the same
 * evaluator; --llama also runs llama.cpp's perplexity on its files and on a written file of ours
 * (spot check). babyllama: llama.cpp cannot load it; targets are the same stock mixes' byte
 * formulas re-created with our planner (uniform levels with llama.cpp's output/embedding rule),
 * evaluated with `--unknown skip` on the tinystories text, -c 128 (its training context).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LLAMA_FTYPES, llamaModelQuantize } from '../scripts/llama-model-quantize.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** Child: llama.cpp's quantizer. */
function childLlamaQuantize(src: string, out: string, ftype: number): void {
  const { bytes } = llamaModelQuantize(src, out, ftype, 1);
  process.stdout.write(`@@RESULT${JSON.stringify({ bytes })}\n`);
}

function runChild(args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    // Same runner (vite-node) and script; the child's arguments travel in the environment.
    const env = { ...process.env, LQ_QUALITY_CHILD: JSON.stringify(args) };
    const c = spawn(process.execPath, [...process.execArgv, process.argv[1]!, fileURLToPath(import.meta.url)], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`child failed (${code}): ${err.slice(-2000)}`))));
  });
}

const FTYPES = LLAMA_FTYPES;

/**
 * llama.cpp's stock mixes re-created as plans (for models llama.cpp cannot load), from its
 * documented rules: Q4_0: every matrix Q4_0, output Q6_K. Q4_K_M: Q4_K, with attn_v and ffn_down at
 * Q6_K in the "more bits" blocks (i < n/8, i >= 7n/8, or (i − n/8) mod 3 = 2), output Q6_K. Rows a
 * format cannot hold fall back as llama.cpp does (Q4_K → Q5_0, Q6_K → Q8_0, else F16). Checked on
 * stories260K against llama_model_quantize's files (same covered bytes).
 */
function recipeFormat(recipe: string, role: string, block: number | null, nLayer: number): string {
  if (role === 'output') return 'q6_K';
  if (recipe === 'Q4_0') return 'q4_0';
  if (recipe === 'Q8_0') return 'q8_0';
  const more = block !== null && (block < Math.floor(nLayer / 8) || block >= Math.floor((7 * nLayer) / 8) || (block - Math.floor(nLayer / 8)) % 3 === 2);
  if ((role === 'attn_v' || role === 'ffn_down') && more) return 'q6_K';
  return 'q4_K';
}

async function main(): Promise<void> {
  const child = process.env.LQ_QUALITY_CHILD ? (JSON.parse(process.env.LQ_QUALITY_CHILD) as string[]) : undefined;
  if (child) return childLlamaQuantize(child[1]!, child[2]!, Number(child[3]));
  const dist = (p: string) => import(join(root, 'dist', p));
  const { loadModel } = await dist('model/load.js');
  const { planModel, registryFormats } = await dist('quantize/plan-model.js');
  const { quantizeModel } = await dist('quantize/pipeline.js');
  const { QuantCache, quantizedModel } = await dist('quantize/compare.js');
  const { perplexityOfTokens } = await dist('eval/perplexity.js');
  const { Decoder } = await dist('eval/decoder.js');
  const { loadTokenizer } = await dist('tokenize/tokenizer.js');
  const { sensitivity, sensitivityErrors, sensitivityBlockScores } = await dist('importance/sensitivity.js');
  const { rank, blockImportance } = await dist('importance/rank.js');
  const { makePlan } = await dist('plan/plan.js');
  const { tensorCost } = await dist('plan/cost.js');
  // A stock mix as a plan: start from all-Q8_0 (every tensor covered) and restate each tensor.
  const recipePlan = (recipe: string) => {
    const plan = makePlan(model, { levels: 'Q8_0', budget: { kind: 'bits', bits: 32 }, formats: table, strategy: 'paper', lowerCount: 0, globals: 'last' });
    for (const t of plan.tensors) {
      if (!t.covered) continue;
      const c = tensorCost(table.get(recipeFormat(recipe, t.role, t.block, model.blocks.length)), t.dims, table);
      t.format = c.format;
      t.bytes = c.bytes;
    }
    plan.totals.coveredBytes = plan.tensors.filter((t: { covered: boolean }) => t.covered).reduce((a: number, t: { bytes: number }) => a + t.bytes, 0);
    plan.totals.tensorBytes = plan.tensors.reduce((a: number, t: { bytes: number }) => a + t.bytes, 0);
    return plan;
  };

  const which = arg('model', 'stories');
  const chunks = Number(arg('chunks', '100'));
  const ctx = Number(arg('c', which === 'stories' ? '512' : '128'));
  const src = join(root, which === 'stories' ? '../shared/data/models/stories260K/stories260K-f32.gguf' : '../shared/data/models/babyllama-tok105/babyllama-tok105-f32.gguf');
  const textFile = join(root, '../shared/data/text/tinystories/tinystories-valid-head.txt');
  const unknown = which === 'stories' ? 'error' : 'skip';
  const text = readFileSync(textFile, 'utf8');
  const model = loadModel(src);
  const table = registryFormats();
  const tok = loadTokenizer(model.tokenizer, { unknown, file: src });
  const tokens = tok.encode(text, { addBos: true });
  const bos = tok.addBos ? tok.bosId : undefined;
  const ppl = async (m: unknown): Promise<number> => (await perplexityOfTokens(new Decoder(m), tokens, bos, { context: ctx, chunks })).perplexity;
  const refs = new Map();
  for (const t of [...model.blocks.flatMap((b: { tensors: unknown[] }) => b.tensors), ...model.globals]) refs.set((t as { name: string }).name, t);
  const cache = new QuantCache(refs);
  type T = { dims: number[]; data: Uint8Array; format: string };
  const covered = (m: { blocks: { tensors: T[] }[]; globals: T[] }): T[] =>
    [...m.blocks.flatMap((b) => b.tensors), ...m.globals].filter((t) => t.dims.length >= 2);
  const weights = covered(model).reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0);
  const rows: string[] = [];
  const row = (name: string, bytes: number, tensorBytes: number, p: number, note = '') => {
    const line = `| ${name} | ${tensorBytes} | ${((bytes * 8) / weights).toFixed(3)} | ${p.toFixed(4)} | ${note} |`;
    rows.push(line);
    console.log(line);
  };
  console.log(`model ${src}: ${weights} covered weights; text ${textFile}: ${tokens.length} tokens; ${chunks} chunks × ${ctx}`);
  console.log('| plan | tensor bytes | bits/weight | PPL (ours) | notes |\n|---|---|---|---|---|');
  row('F32 (source)', covered(model).reduce((s: number, t: { data: Uint8Array }) => s + t.data.byteLength, 0), [...model.blocks.flatMap((b: { tensors: { data: Uint8Array }[] }) => b.tensors), ...model.globals].reduce((s: number, t: { data: Uint8Array }) => s + t.data.byteLength, 0), await ppl(model));

  const tmp = mkdtempSync(join(tmpdir(), 'lq-quality-'));
  const targets: { name: string; coveredBytes: number }[] = [];
  try {
    if (which === 'stories') {
      for (const name of ['Q4_0', 'Q4_K_M', 'Q8_0']) {
        const out = join(tmp, `llama-${name}.gguf`);
        await runChild(['--child-quantize', src, out, String(FTYPES[name]!)]);
        const q = loadModel(out);
        try {
          const cb = covered(q).reduce((s: number, t: { data: Uint8Array }) => s + t.data.byteLength, 0);
          const tb = [...q.blocks.flatMap((b: { tensors: { data: Uint8Array }[] }) => b.tensors), ...q.globals].reduce((s: number, t: { data: Uint8Array }) => s + t.data.byteLength, 0);
          const mix = [...new Set(covered(q).map((t: { format: string }) => t.format))].join(',');
          row(`llama.cpp ${name}`, cb, tb, await ppl(q), `formats ${mix}`);
          targets.push({ name, coveredBytes: cb });
        } finally {
          q.close();
        }
      }
    }
    for (const name of ['Q4_0', 'Q4_K_M', 'Q8_0']) {
      const plan = recipePlan(name);
      row(`llama.cpp ${name} recipe, re-created (our quantizers)`, plan.totals.coveredBytes, plan.totals.tensorBytes, await ppl(await quantizedModel(model, plan, cache)));
      if (which !== 'stories') targets.push({ name, coveredBytes: plan.totals.coveredBytes });
    }
    const sens = new Map<string, number>();
    const configs: { label: string; levels: string; method: string; granularity: 'block' | 'tensor'; strategy?: string; globals?: unknown }[] = [
      { label: 'default: k-quant levels, zd, block, globals auto', levels: 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0', method: 'zd', granularity: 'block' },
      { label: 'k-quant levels, zd, block, globals last (old default)', levels: 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0', method: 'zd', granularity: 'block', globals: 'last' },
      { label: 'Q4_0,Q8_0 lim, block, globals auto', levels: 'Q4_0,Q8_0', method: 'lim', granularity: 'block' },
      { label: 'Q4_0,Q8_0 lim, block, globals last (old default)', levels: 'Q4_0,Q8_0', method: 'lim', granularity: 'block', globals: 'last' },
      { label: 'Q4_0,Q8_0 sensitivity, block', levels: 'Q4_0,Q8_0', method: 'sensitivity', granularity: 'block' },
      { label: 'Q4_0,Q8_0 sensitivity, tensor', levels: 'Q4_0,Q8_0', method: 'sensitivity', granularity: 'tensor' },
      { label: 'k-quant levels sensitivity, block', levels: 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0', method: 'sensitivity', granularity: 'block' },
      { label: 'k-quant levels sensitivity, tensor', levels: 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0', method: 'sensitivity', granularity: 'tensor' },
    ];
    for (const target of targets.filter((t) => t.name !== 'Q8_0')) {
      const bits = (target.coveredBytes * 8) / weights;
      console.log(`\ntarget llama.cpp ${target.name}: ${target.coveredBytes} covered bytes = ${bits.toFixed(4)} bpw`);
      for (const c of configs) {
        try {
          const opts: Record<string, unknown> = { levels: c.levels, budget: { kind: 'bits', bits }, strategy: c.strategy ?? 'optimal', granularity: c.granularity, formats: table, method: c.method };
          if (c.globals) opts.globals = c.globals;
          const t0 = performance.now();
          if (c.method === 'sensitivity') {
            const s = await sensitivity(model, { levels: c.levels, formats: table, granularity: c.granularity, unknown, cache: sens, ...(which === 'stories' ? {} : { context: ctx }) });
            opts.errorEstimate = sensitivityErrors(s);
            opts.importance = sensitivityBlockScores(s, model.blocks.map((b: { index: number }) => b.index));
          } else {
            opts.importance = blockImportance(await rank(model, c.method));
          }
          const planSec = (performance.now() - t0) / 1000;
          const plan = await planModel(model, opts);
          const qm = await quantizedModel(model, plan, cache);
          const out = plan.tensors.filter((t: { role: string }) => t.role === 'output' || t.role === 'token_embd').map((t: { role: string; format: string }) => `${t.role} ${t.format}`).join(', ');
          row(`ours: ${c.label} @ ${target.name}`, plan.totals.coveredBytes, plan.totals.tensorBytes, await ppl(qm), `${out}; plan ${planSec.toFixed(2)} s`);
          if (process.argv.includes('--llama') && which === 'stories' && (c.label.startsWith('default') || c.label === 'k-quant levels sensitivity, tensor')) {
            const file = join(tmp, `ours-${target.name}-${c.method}.gguf`);
            await quantizeModel(model, undefined, { plan, output: file });
            const { llamaPerplexity } = await import(join(root, 'test/helpers/llama.ts'));
            const r = await llamaPerplexity(file, textFile, ctx, chunks);
            console.log(`  llama.cpp perplexity of our written file (${c.label} @ ${target.name}): ${r.ok ? r.value.ppl.toFixed(4) : r.error}`);
          }
        } catch (err) {
          console.log(`| ours: ${c.label} @ ${target.name} | - | - | - | ${(err as Error).message.slice(0, 120)} |`);
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    model.close();
  }
}

await main();
