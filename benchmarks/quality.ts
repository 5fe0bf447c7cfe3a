/**
 * Quality at equal file size, judged by llama.cpp's own `llama-perplexity --kl-divergence`
 * (recipe: ../shared/docs/LLAMA_CPP_REFERENCE.md). For every shared model:
 *   1. base logits of the F32 file on the evaluation windows (llama-perplexity --kl-divergence-base);
 *   2. one imatrix from a calibration text disjoint from those windows (llama-imatrix);
 *   3. llama.cpp's stock mixes built by llama-quantize without and with that imatrix;
 *   4. our plans at the byte size of each imatrix mix (`quantize --size <bytes>`): the default, and
 *      our best (measured sensitivity per tensor with the same imatrix);
 *   5. every file judged by llama-perplexity against the F32 base: PPL and mean KLD; the table
 *      prints our KLD over llama.cpp's with the imatrix (below 1 = ours better).
 *
 *   npm run build && scripts/llama-tools.sh && nice -n 10 npx vite-node benchmarks/quality.ts -- \
 *     [--model stories260K,stories8L256,babyllama] [--mixes Q2_K,…] [--chunks 100] [--ours default,best]
 *
 * Text split (TinyStories validation head): evaluation = the first `chunks` windows (the file's
 * first 160,000 characters hold more than 100 windows of 512 tokens); calibration = characters
 * 400,000 … 600,000. BabyLlama (a 102-character vocabulary without byte fallback) gets both texts
 * filtered to its alphabet, newlines as spaces, as llama.cpp can only tokenize that.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const shared = join(root, '../shared/data');
const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
};

const MODELS = {
  stories260K: { gguf: join(shared, 'models/stories260K/stories260K-f32.gguf'), context: 512, filter: false },
  stories8L256: { gguf: join(shared, 'models/stories8L256/stories8L256-f32.gguf'), context: 256, filter: false },
  babyllama: { gguf: join(shared, 'models/babyllama-tok105/babyllama-tok105-f32.gguf'), context: 128, filter: true },
} as const;
type ModelName = keyof typeof MODELS;
const ALL_MIXES = ['Q2_K', 'Q3_K_S', 'Q3_K_M', 'Q4_K_S', 'Q4_K_M', 'Q5_K_M', 'Q6_K', 'Q4_0', 'Q8_0'];
const TEXT = join(shared, 'text/tinystories/tinystories-valid-head.txt');

const tools = execFileSync('bash', [join(root, 'scripts/llama-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
const threads = arg('threads', '2');
const tmp = mkdtempSync(join(tmpdir(), 'lq-quality-'));

let logs = 0;
/**
 * Runs a command with stdout and stderr into one file (`> log 2>&1`), with scripts/llama-log-drain.c
 * preloaded: llama.cpp's tools print from a log thread and lose what is queued when they exit.
 */
function run(cmd: string, args: string[], preload = false): string {
  const log = join(tmp, `log-${logs++}.txt`);
  const fd = openSync(log, 'w');
  let r;
  try {
    const env = preload ? { ...process.env, LD_PRELOAD: join(tools, 'liblq-log-drain.so') } : process.env;
    r = spawnSync(cmd, args, { stdio: ['ignore', fd, fd], env });
  } finally {
    closeSync(fd);
  }
  const out = readFileSync(log, 'utf8');
  rmSync(log);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${out.slice(-3000)}`);
  return out;
}
const llama = (tool: string, args: string[]): string => run(join(tools, tool), args, true);
const ours = (args: string[]): string => run(process.execPath, [join(root, 'dist/cli/main.js'), ...args]);

/** Judged by llama-perplexity against the base logits. */
function judge(file: string, base: string): { ppl: number; kld: number; bytes: number } {
  const log = llama('llama-perplexity', ['-m', file, '--kl-divergence-base', base, '--kl-divergence', '-t', threads]);
  const num = (re: RegExp): number => { const m = re.exec(log); if (!m) throw new Error(`no ${re} in:\n${log.slice(-2000)}`); return Number(m[1]); };
  return { ppl: num(/Mean PPL\(Q\)\s*:\s*([\d.]+)/), kld: num(/Mean\s+KLD:\s*([-\d.e]+)/), bytes: statSync(file).size };
}

/** Characters of BabyLlama's vocabulary (single-character pieces; '▁' is the space). */
function alphabet(gguf: string): Set<string> {
  const f = execFileSync(process.execPath, ['-e', `
    import(${JSON.stringify(join(root, 'dist/io/gguf-read.js'))}).then(({ openGguf }) => {
      const g = openGguf(${JSON.stringify(gguf)});
      process.stdout.write(JSON.stringify(g.get('tokenizer.ggml.tokens').items));
      g.close();
    });`], { encoding: 'utf8' });
  const chars = new Set<string>();
  for (const t of JSON.parse(f) as string[]) if ([...t].length === 1) chars.add(t === '▁' ? ' ' : t);
  return chars;
}

const fmt = (r: { ppl: number; kld: number }) => `${r.ppl.toFixed(4)} / ${r.kld.toFixed(5)}`;

async function main(): Promise<void> {
  const models = arg('model', 'stories260K,stories8L256,babyllama').split(',') as ModelName[];
  const mixes = arg('mixes', ALL_MIXES.join(',')).split(',');
  const chunks = arg('chunks', '100');
  const which = new Set(arg('ours', 'default,best').split(','));
  const results: Record<string, unknown>[] = [];
  try {
    for (const name of models) {
      const m = MODELS[name];
      let text = readFileSync(TEXT, 'utf8');
      if (m.filter) {
        const a = alphabet(m.gguf);
        text = [...text.replace(/\n/g, ' ')].filter((ch) => a.has(ch)).join('');
      }
      const evalFile = join(tmp, `${name}-eval.txt`), calibFile = join(tmp, `${name}-calib.txt`);
      writeFileSync(evalFile, text.slice(0, 160_000));
      writeFileSync(calibFile, text.slice(400_000, 600_000));
      const c = String(m.context);
      const base = join(tmp, `${name}-base.kld`);
      const baseLog = llama('llama-perplexity', ['-m', m.gguf, '-f', evalFile, '-c', c, '-b', c, '--chunks', chunks, '-t', threads, '--kl-divergence-base', base]);
      const basePpl = /Final estimate: PPL = ([\d.]+)/.exec(baseLog)?.[1];
      const imatrix = join(tmp, `${name}-imatrix.gguf`);
      llama('llama-imatrix', ['-m', m.gguf, '-f', calibFile, '-c', c, '-o', imatrix, '--no-ppl', '-t', threads]);
      console.log(`\n## ${name} (c=${c}, ${chunks} windows; F32 PPL ${basePpl}; imatrix from ${calibFile})\n`);
      console.log('| mix | bytes (imatrix mix) | llama.cpp PPL / KLD | llama.cpp + imatrix PPL / KLD | ours default PPL / KLD (KLD ratio) | ours best + imatrix PPL / KLD (KLD ratio) |');
      console.log('| --- | ---: | --- | --- | --- | --- |');
      for (const mix of mixes) {
        const plain = join(tmp, `${name}-${mix}.gguf`), withIm = join(tmp, `${name}-${mix}-imatrix.gguf`);
        llama('llama-quantize', [m.gguf, plain, mix, threads]);
        llama('llama-quantize', ['--imatrix', imatrix, m.gguf, withIm, mix, threads]);
        const lp = judge(plain, base), li = judge(withIm, base);
        const row: Record<string, unknown> = { model: name, mix, llama: lp, llamaImatrix: li };
        const cells = [mix, String(li.bytes), fmt(lp), fmt(li)];
        const variants: [string, string[]][] = [
          ['default', []],
          ['best', ['--method', 'sensitivity', '--granularity', 'tensor', '--imatrix', imatrix, '--calib', calibFile]],
        ];
        for (const [label, extra] of variants) {
          if (!which.has(label)) { cells.push('–'); continue; }
          const out = join(tmp, `${name}-${mix}-ours-${label}.gguf`);
          try {
            ours(['quantize', m.gguf, '--size', String(li.bytes), '-o', out, ...extra]);
            const r = judge(out, base);
            row[label] = r;
            cells.push(`${fmt(r)} (${(r.kld / li.kld).toFixed(2)}×)`);
          } catch (err) {
            row[label] = { error: (err as Error).message.slice(0, 300) };
            cells.push(`error: ${(err as Error).message.split('\n')[0]!.slice(0, 80)}`);
          }
        }
        results.push(row);
        console.log(`| ${cells.join(' | ')} |`);
      }
    }
  } finally {
    writeFileSync(arg('json', join(tmpdir(), 'lq-quality.json')), JSON.stringify(results, null, 2));
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
