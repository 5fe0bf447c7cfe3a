// Child process for reference checks with node-llama-cpp (llama.cpp). llama.cpp aborts the
// whole process on some malformed vocabularies, so the test runner never loads a model itself:
// test/helpers/llama.ts spawns this script, sends one JSON request on stdin and reads one JSON
// line (prefixed with RESULT_MARK) from stdout. Any crash shows up there as a failed result.
//
// Request: { model: string, threads?: number, vocabOnly?: boolean, ops: Op[] }, where Op is one of
//   { op: 'info' }                                   → { nVocab, bos, eos, addBos (llama.cpp's add_bos), trainContextSize }
//   { op: 'tokenize', texts: string[], addBos?: boolean }
// vocabOnly loads only the vocabulary (a GGUF without tensors) and allows only info and tokenize.
//   { op: 'tokenizeFile', textFile: string }         → { count, sha256 } of the whole file's ids (BOS first)
//   { op: 'perplexity', textFile?: string, text?: string, context: number, chunks?: number }
//                                                    → { ppl, nTokens, tokensSha256, nChunks, count, perChunk, seconds }
//   { op: 'logits', tokens: number[] }               → final-position logits, all vocab ids
//   { op: 'logitsAll', tokens: number[], outFile?: string } → logits of every position [n × vocab];
//                                                      with outFile written there as f32 (returns { n, nVocab })
//   { op: 'generate', prompt: string, maxTokens: number } → greedy continuation
// Reply: { ok: true, results: [...] } (one result per op).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const RESULT_MARK = '@@LQ_RESULT@@';

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Logits of every vocab id for the next token, from a controlledEvaluate output item. */
function fullLogits(out, nVocab) {
  const arr = new Array(nVocab).fill(0);
  for (const [tok, l] of out.next.logits) arr[tok] = l;
  return arr;
}

/** llama-perplexity's convention: BOS-first windows of c tokens, score positions c/2 … c−2. */
async function perplexity(model, seq, op) {
  const text = op.text ?? readFileSync(op.textFile, 'utf8');
  const t0 = performance.now();
  const tokens = model.tokenize(text);
  const bos = model.tokens.bos;
  const all = bos == null ? tokens : [bos, ...tokens];
  const c = op.context;
  const maxChunks = Math.floor(all.length / c);
  const nChunks = op.chunks ? Math.min(op.chunks, maxChunks) : maxChunks;
  if (nChunks < 1) throw new Error(`text has ${all.length} tokens, fewer than one context of ${c}`);
  const tokensSha256 = createHash('sha256').update(new Uint8Array(Int32Array.from(all).buffer)).digest('hex');
  const first = c / 2;
  let nll = 0;
  let count = 0;
  const perChunk = [];
  for (let i = 0; i < nChunks; i++) {
    const win = all.slice(i * c, (i + 1) * c);
    if (bos != null) win[0] = bos;
    const input = win.map((tok, j) =>
      j >= first && j <= c - 2
        ? [tok, { generateNext: { logits: { filter: { tokens: [win[j + 1]], includeTop: 1 } }, totalLogitWeight: true } }]
        : tok,
    );
    await seq.clearHistory();
    const out = await seq.controlledEvaluate(input);
    for (let j = first; j <= c - 2; j++) {
      const o = out[j];
      const target = win[j + 1];
      const logits = o.next.logits;
      let max = -Infinity;
      for (const v of logits.values()) if (v > max) max = v;
      const lt = logits.get(target);
      const logp = lt - max - Math.log(o.next.totalLogitWeight);
      nll -= logp;
      count++;
    }
    perChunk.push(Math.exp(nll / count));
  }
  return { ppl: Math.exp(nll / count), nTokens: all.length, tokensSha256, nChunks, count, perChunk, seconds: (performance.now() - t0) / 1000 };
}

async function main() {
  const req = JSON.parse(await readStdin());
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false });
  const model = await llama.loadModel({ modelPath: req.model, vocabOnly: req.vocabOnly === true });
  if (req.vocabOnly) {
    const results = req.ops.map((op) => {
      if (op.op === 'info') return { bos: model.tokens.bos, eos: model.tokens.eos, addBos: model.tokens.shouldPrependBosToken };
      if (op.op === 'tokenize') return op.texts.map((t) => model.tokenize(t));
      throw new Error(`op ${op.op} needs the weights (vocabOnly)`);
    });
    await model.dispose();
    await llama.dispose();
    process.stdout.write(`\n${RESULT_MARK}${JSON.stringify({ ok: true, results })}\n`);
    return;
  }
  const maxCtx = Math.max(64, ...req.ops.map((o) => o.context ?? 0), ...req.ops.map((o) => (o.tokens?.length ?? 0) + (o.maxTokens ?? 0) + 64));
  const context = await model.createContext({ contextSize: maxCtx, batchSize: maxCtx, sequences: 1, threads: req.threads ?? 1 });
  const seq = context.getSequence();
  const vocab = Number(model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length ?? 0);
  const results = [];
  for (const op of req.ops) {
    if (op.op === 'info') {
      results.push({ nVocab: vocab, bos: model.tokens.bos, eos: model.tokens.eos, addBos: model.tokens.shouldPrependBosToken, trainContextSize: model.trainContextSize });
    } else if (op.op === 'tokenize') {
      results.push(op.texts.map((t) => {
        const ids = model.tokenize(t);
        return op.addBos && model.tokens.bos != null ? [model.tokens.bos, ...ids] : ids;
      }));
    } else if (op.op === 'tokenizeFile') {
      const ids = model.tokenize(readFileSync(op.textFile, 'utf8'));
      const all = Int32Array.from(model.tokens.bos != null ? [model.tokens.bos, ...ids] : ids);
      results.push({ count: all.length, sha256: createHash('sha256').update(new Uint8Array(all.buffer)).digest('hex') });
    } else if (op.op === 'perplexity') {
      results.push(await perplexity(model, seq, op));
    } else if (op.op === 'logits') {
      await seq.clearHistory();
      const input = op.tokens.map((t, j) => (j === op.tokens.length - 1 ? [t, { generateNext: { logits: true } }] : t));
      const out = await seq.controlledEvaluate(input);
      results.push(fullLogits(out[op.tokens.length - 1], vocab));
    } else if (op.op === 'logitsAll') {
      await seq.clearHistory();
      const out = await seq.controlledEvaluate(op.tokens.map((t) => [t, { generateNext: { logits: true } }]));
      if (op.outFile) {
        const f = new Float32Array(op.tokens.length * vocab);
        for (let j = 0; j < op.tokens.length; j++) for (const [tok, l] of out[j].next.logits) f[j * vocab + tok] = l;
        writeFileSync(op.outFile, new Uint8Array(f.buffer));
        results.push({ n: op.tokens.length, nVocab: vocab });
      } else {
        results.push(op.tokens.map((_, j) => fullLogits(out[j], vocab)));
      }
    } else if (op.op === 'generate') {
      await seq.clearHistory();
      const prompt = model.tokenize(op.prompt);
      let input = model.tokens.bos != null ? [model.tokens.bos, ...prompt] : prompt;
      const generated = [];
      for (let k = 0; k < op.maxTokens; k++) {
        const items = input.map((t, j) => (j === input.length - 1 ? [t, { generateNext: { logits: { filter: { tokens: [], includeTop: 1 } } } }] : t));
        const out = await seq.controlledEvaluate(items);
        const next = out[input.length - 1].next.logits.keys().next().value;
        if (next === model.tokens.eos) break;
        generated.push(next);
        input = [next];
      }
      results.push({ tokens: generated, text: model.detokenize(generated) });
    } else {
      throw new Error(`unknown op ${op.op}`);
    }
  }
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  process.stdout.write(`\n${RESULT_MARK}${JSON.stringify({ ok: true, results })}\n`);
}

main().catch((err) => {
  process.stdout.write(`\n${RESULT_MARK}${JSON.stringify({ ok: false, error: String(err?.stack ?? err) })}\n`);
  process.exitCode = 1;
});
