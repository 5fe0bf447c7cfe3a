/**
 * Quality at equal file size, judged by llama.cpp itself: llama-quantize's stock mixes built with
 * an imatrix from llama-imatrix, against our plans at the same file size quantized with that same
 * imatrix; every file scored by llama-perplexity --kl-divergence against the F32 model's logits,
 * on text disjoint from the calibration text. On stories8L256 every row is 256 wide, so k-quants
 * apply to every tensor.
 *
 *   npx vite-node benchmarks/quality-kld.ts -- [--model PATH] [--mixes Q4_K_M,Q5_K_M] [-c 256] \
 *     [--chunks 100] [--calib-chunks 40] [--threads 2] [--sensitivity]
 *
 * Text: the TinyStories head; calibration = characters 400000–440000, evaluation = the first
 * 400000 characters (the windows llama-perplexity scores come from the start). Rows: llama.cpp
 * without and with the imatrix; ours with `--size <llama.cpp's file bytes> --imatrix` for the
 * default plan (the estimated KL per tensor, probing on the calibration text) and, with
 * `--sensitivity`, measured sensitivity per tensor (minutes per mix on a quiet 2-core machine).
 * `--levels L` passes our planner's levels (default: its default k-quant set; i-quant mixes such
 * as IQ4_XS get the i-quants added unless --levels says otherwise).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliOk } from '../test/helpers/cli.js';
import { llamaTool, parseKl } from '../test/helpers/llama-tools.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const j = i >= 0 ? i : process.argv.indexOf(`-${name}`);
  return j >= 0 && process.argv[j + 1] ? process.argv[j + 1]! : def;
}

/** Our levels for llama.cpp's i-quant mixes: the i-quants, then the k-quants above them. */
const IQUANT_LEVELS = 'IQ2_XXS,IQ2_XS,IQ2_S,IQ3_XXS,IQ3_S,IQ4_XS,Q5_K,Q6_K,Q8_0';
/** Our levels at the high sizes: the default's top, and F16. */
const BEST_HIGH_LEVELS = 'Q4_K,Q5_K,Q6_K,Q8_0,F16';

async function main(): Promise<void> {
  const model = arg('model', join(root, '../shared/data/models/stories8L256/stories8L256-f32.gguf'));
  const mixes = arg('mixes', 'Q4_K_M,Q5_K_M').split(',');
  const ctx = arg('c', '256');
  const chunks = arg('chunks', '100');
  const calibChunks = arg('calib-chunks', '40');
  const threads = arg('threads', '2');
  const textFile = join(root, '../shared/data/text/tinystories/tinystories-valid-head.txt');
  const text = readFileSync(textFile, 'utf8');
  const tmp = mkdtempSync(join(tmpdir(), 'lq-quality-kld-'));
  const t0 = performance.now();
  try {
    const calib = join(tmp, 'calib.txt');
    const evalText = join(tmp, 'eval.txt');
    writeFileSync(calib, text.slice(400_000, 440_000));
    writeFileSync(evalText, text.slice(0, 400_000));
    const imatrix = join(tmp, 'imatrix.gguf');
    llamaTool('llama-imatrix', ['-m', model, '-f', calib, '-c', ctx, '--chunks', calibChunks, '--no-ppl', '-t', threads, '-o', imatrix]);
    const base = join(tmp, 'base.kld');
    const ppl = ['-f', evalText, '-c', ctx, '-b', ctx, '--chunks', chunks, '-t', threads];
    llamaTool('llama-perplexity', ['-m', model, ...ppl, '--kl-divergence-base', base]);
    const judge = (file: string): ReturnType<typeof parseKl> => parseKl(llamaTool('llama-perplexity', ['-m', file, ...ppl, '--kl-divergence-base', base, '--kl-divergence']));

    console.log(`model ${model}; imatrix: llama-imatrix, ${calibChunks} chunks × ${ctx} of ${textFile}[400000, 440000); judged by llama-perplexity --kl-divergence, ${chunks} chunks × ${ctx} of ${textFile}[0, 400000); ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    console.log('| mix | file | bytes | PPL(Q) | mean KLD | 99% KLD | same top | KLD / llama.cpp+imatrix |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const mix of mixes) {
      const row = (label: string, file: string, ref: number | undefined): number => {
        const k = judge(file);
        const bytes = statSync(file).size;
        console.log(`| ${mix} | ${label} | ${bytes} | ${k.ppl!.toFixed(4)} | ${k.kld!.toFixed(6)} | ${k.kld99!.toFixed(5)} | ${(100 * k.sameTop!).toFixed(2)}% | ${ref ? (k.kld! / ref).toFixed(3) : '1'} |`);
        return k.kld!;
      };
      const plain = join(tmp, `llama-${mix}.gguf`);
      const withIm = join(tmp, `llama-${mix}-imatrix.gguf`);
      llamaTool('llama-quantize', ['--imatrix', imatrix, model, withIm, mix, threads]);
      const size = String(statSync(withIm).size);
      const ref = row('llama.cpp + imatrix', withIm, undefined);
      try {
        llamaTool('llama-quantize', [model, plain, mix, threads]);
        row('llama.cpp, no imatrix', plain, ref);
      } catch {
        // IQ2_M and the other low i-quant mixes: llama-quantize requires an imatrix.
        console.log(`| ${mix} | llama.cpp, no imatrix | — | refused by llama-quantize: this mix requires an imatrix | | | | |`);
      }
      // The default (--method estimate, tensor granularity) probes on the same calibration text.
      const ours: [string, string[]][] = [
        ['ours default + imatrix', ['--calib', calib]],
        ...(process.argv.includes('--sensitivity')
          ? [['ours sensitivity/tensor + imatrix', ['--method', 'sensitivity', '--granularity', 'tensor', '--calib', calib]] as [string, string[]]]
          : []),
      ];
      const levels = arg('levels', mix.startsWith('IQ') ? IQUANT_LEVELS : '');
      for (const [, args] of ours) if (levels) args.push('--levels', levels);
      // Near Q8_0's size the default levels can only tie llama.cpp (all Q8_0; Q6_K is Q8_0 on rows
      // that are not 256-wide); F16 lets the plan buy more where it matters.
      if (mix === 'Q8_0' || mix === 'Q6_K') ours.push([`ours best (levels ${BEST_HIGH_LEVELS}) + imatrix`, ['--calib', calib, '--levels', BEST_HIGH_LEVELS]]);
      for (const [label, args] of ours) {
        const out = join(tmp, `ours-${mix}-${label.replace(/\W+/g, '-')}.gguf`);
        await cliOk('quantize', model, '--size', size, ...args, '--imatrix', imatrix, '--threads', threads, '--progress', 'none', '-o', out);
        row(label, out, ref);
      }
    }
    console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
