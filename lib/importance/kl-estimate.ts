/**
 * The scalable measured error (the default planner's): for every 2-D tensor and every level, an
 * estimate of the KL divergence of the model's output when that tensor alone is stored at that
 * level, KL(p_ref ‖ p_quant) in nats per token, from one streamed pass over the blocks. Its cost
 * grows linearly with depth; `sensitivity` (the end-to-end measurement it estimates) costs
 * about L²/2 block passes per (tensor, level).
 *
 *   est(t, l) = werr(t, l) / werr(t, l₀) · skip(t) · c(block of t)
 *
 * - werr(t, l) = Σ_rows Σ_j imatrix_j (w − ŵ_l)²: the imatrix-weighted error of quantizing t to l,
 *   measured natively on a sample of rows, no forward pass. It carries the level dependence,
 *   times γ(role, l): on `levelBlocks` blocks every tensor is probed at every level, and γ is the
 *   median of (skip at l / skip at l₀) / (werr at l / werr at l₀) over them (the KL grows faster
 *   than the weight error at the lowest levels: ×1.4 at Q2_K on stories8L256). Tensors of those
 *   blocks use their measured skip at every level.
 * - skip(t): at the probe level l₀ (default the level nearest 4.5 bits), t is quantized (with its
 *   imatrix) and its block alone runs on the probe tokens' inputs; the change δ of the block output
 *   is added to the reference's final hidden state and the head's KL is measured (one block pass
 *   and one head pass per tensor; later blocks are not rerun).
 * - c(b): what the blocks after b do to a change at b's output. A "tail" per block carries
 *   Σ_t δ_t from b's output through the later blocks (batched with the reference pass, probe
 *   tokens only): c = KL at the end / KL of the same change injected at the end. Measured on up
 *   to `tails` evenly spaced blocks (interpolated in log space between them; the last block's c is 1).
 * - token_embd changes every block's input: it is a tail from the start, one per level (end-to-end
 *   KL). output: exact, one head pass per level.
 *
 * The imatrix comes from the same pass (Σ x² per column of every matmul input over the calibration
 * tokens, divided by the token count, as llama-quantize uses it) unless one is given.
 *
 * Cost (L blocks, T calibration tokens, P probe tokens, 7 matrices per block): one block pass over
 * T tokens per block; 7 block passes over P tokens per block (probes); Σ over the measured tails
 * of (L − b) block passes over P tokens, and L per level for token_embd; 7 × (levels − 1) block
 * passes over P tokens per level block (a second pass over those blocks only); head passes over
 * about (7L + tails + 2·levels + 7·levels·levelBlocks) × P rows; one quantization of each tensor at
 * l₀, and each level on the sampled rows. `benchmarks/estimate.ts`
 * measures its agreement with the end-to-end KL; benchmarks/RESULTS.md has the figures.
 * Memory: the reference hidden states (T × n_embd floats), the probe changes (7L × P × n_embd
 * floats), the tails, one quantized tensor at a time.
 */
import { LayerquantError } from '../errors.js';
import { Decoder, type DecoderModel, type DecoderTensor } from '../eval/decoder.js';
import { ImatrixCollector } from '../imatrix/collect.js';
import { imatrixImportance } from '../imatrix/importance.js';
import type { Imatrix } from '../imatrix/types.js';
import { type FormatLike, type FormatTable, resolveLevels, tensorCost } from '../plan/cost.js';
import { planUnits } from '../plan/units.js';
import { startStage, type ProgressListener } from '../progress.js';
import { materialise } from '../quantize/materialise.js';
import { quantizationError } from '../quantize/tensor.js';
import type { TokenizerSource, UnknownCharPolicy } from '../tokenize/tokenizer.js';
import { calibrationTokens } from './calibrate.js';
import { meanKl, type SensitivityUnit } from './sensitivity.js';

/** Options of {@link klEstimate}. */
export interface KlEstimateOptions {
  /** Levels, lowest first: the list the planner gets. */
  levels: string | readonly string[];
  formats: FormatTable;
  /** Calibration text (default: the built-in text). */
  text?: string;
  /** Calibration tokens for the imatrix and the reference pass (default 512). */
  tokens?: number;
  /** Probe tokens (a prefix of each calibration sequence; default 256 below 1e9 weights, else 64). */
  probeTokens?: number;
  /** The level probed per tensor (default: the level nearest 4.5 bits per weight). */
  probeLevel?: string;
  /** Blocks whose downstream factor is measured (default: all up to 16, else 16 evenly spaced). */
  tails?: number;
  /**
   * Blocks whose tensors are probed at every level (they calibrate, per role and level, how the
   * KL grows beyond the weight error's ratio; default: every block below 1e9 weights, else 4).
   */
  levelBlocks?: number;
  /** Weight error on every rowStep-th row (default: enough rows for ≥ 512 per tensor). */
  rowStep?: number;
  /** Importance per tensor (an imatrix given by the caller); default: computed in this pass. */
  importance?: (tensor: string) => Float32Array | undefined;
  /** Sequence length (default min(512, training context)). */
  context?: number;
  threads?: number;
  unknown?: UnknownCharPolicy;
  signal?: AbortSignal;
  /** Stage `estimate`, in steps (two per block, one per level block). */
  onProgress?: ProgressListener;
}

/** Result of {@link klEstimate}: the planner's table, in the shape sensitivity's has. */
export interface KlEstimateResult {
  method: 'estimate';
  metric: 'kl';
  model: string;
  levels: string[];
  granularity: 'tensor';
  units: SensitivityUnit[];
  /** The imatrix of this pass (lib/imatrix's ImatrixCollector; no dataset or chunks recorded); absent when one was given. */
  imatrix?: Imatrix;
  details: {
    tokens: number;
    probeTokens: number;
    probeLevel: string;
    /** Tails measured (blocks with a measured downstream factor, token_embd's included). */
    tails: number;
    /** Block passes, each counted in calibration-token units (T tokens = 1). */
    blockPasses: number;
    /** Rows through the output head. */
    headRows: number;
    /** Blocks probed at every level. */
    levelBlocks: number[];
    /** Downstream factor c per block. */
    downstream: number[];
    seconds: number;
  };
}

const COVERED = new Set(['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down']);

/** Evenly spaced blocks (block 0 first) among 0 … L−2: at most `count`. */
function tailBlocks(L: number, count: number): number[] {
  const n = Math.min(count, L - 1);
  if (n <= 0) return [];
  if (n >= L - 1) return Array.from({ length: L - 1 }, (_, i) => i);
  return [...new Set(Array.from({ length: n }, (_, k) => Math.round((k * (L - 1)) / n)))];
}

/** The probe level: `name` when given, else the level nearest 4.5 bits per weight. */
function pickProbe(levels: FormatLike[], table: FormatTable, name: string | undefined): FormatLike {
  if (name !== undefined) return resolveLevels([name], table)[0]!;
  return levels.reduce((a, b) => (Math.abs(b.bitsPerWeight - 4.5) < Math.abs(a.bitsPerWeight - 4.5) ? b : a));
}

/** Estimates the KL table of `model` (see the file comment). */
export async function klEstimate(model: DecoderModel & { tokenizer: TokenizerSource }, opts: KlEstimateOptions): Promise<KlEstimateResult> {
  const t0 = performance.now();
  const table = opts.formats;
  const levels = resolveLevels(opts.levels, table);
  const sig = opts.signal ? { signal: opts.signal } : {};
  const threads = opts.threads !== undefined ? { threads: opts.threads } : {};
  const batch = calibrationTokens(model, opts, 512);
  const weights = [...model.blocks.flatMap((b) => b.tensors), ...model.globals].reduce((s, t) => s + (t.dims.length >= 2 ? t.dims[0]! * t.dims[1]! : 0), 0);
  const probeWanted = opts.probeTokens ?? (weights < 1e9 ? 256 : 64);
  if (!Number.isInteger(probeWanted) || probeWanted < 1) throw new LayerquantError('E_BAD_ARGUMENT', `probeTokens must be a positive integer but received ${probeWanted}`);
  const T = batch.tokens.length;

  const ref = new Decoder(model, threads);
  const d = ref.nEmbd;
  const L = ref.nLayer;
  const hp = model.hparams;
  // Probe rows: a prefix of each sequence (causal attention keeps a prefix self-contained).
  const per = Math.max(1, Math.ceil(probeWanted / batch.seqLens.length));
  const probeRows: number[] = [];
  const probeLens: number[] = [];
  let off = 0;
  for (const len of batch.seqLens) {
    const k = Math.min(len, per);
    for (let j = 0; j < k; j++) probeRows.push(off + j);
    probeLens.push(k);
    off += len;
  }
  const P = probeRows.length;
  const gather = (h: Float32Array): Float32Array => {
    const out = new Float32Array(P * d);
    probeRows.forEach((r, i) => out.set(h.subarray(r * d, (r + 1) * d), i * d));
    return out;
  };
  const repeat = (lens: number[], times: number): Int32Array => Int32Array.from({ length: lens.length * times }, (_, i) => lens[i % lens.length]!);

  const probeLevel = pickProbe(levels, table, opts.probeLevel);
  const tails = new Set(tailBlocks(L, opts.tails ?? 16));
  const nLevelBlocks = Math.min(L, opts.levelBlocks ?? (weights < 1e9 ? L : 4));
  const levelBlocks = new Set(Array.from({ length: nLevelBlocks }, (_, k) => (nLevelBlocks === 1 ? L >> 1 : Math.round((k * (L - 1)) / (nLevelBlocks - 1)))));
  const mats = (b: number): DecoderTensor[] => model.blocks[b]!.tensors.filter((t) => COVERED.has(t.role) && t.dims.length >= 2);
  const embd = model.globals.find((t) => t.role === 'token_embd' && t.dims.length >= 2);
  const output = model.globals.find((t) => t.role === 'output' && t.dims.length >= 2);
  if (!embd) throw new LayerquantError('E_BAD_CONFIG', 'model has no token_embd tensor', { file: model.path });
  // The probes swap one matrix of the dense Llama block; other block matrices (fused qkv, experts)
  // would get no estimate.
  const other = model.blocks.flatMap((b) => b.tensors).find((t) => t.dims.length >= 2 && !COVERED.has(t.role));
  if (other) throw new LayerquantError('E_UNSUPPORTED', `the error estimate covers the dense block's seven matrices; ${other.name} (${other.role}) is not one of them`, { file: model.path, tensor: other.name });
  let blockPasses = 0;
  let headRows = 0;
  let done = 0;
  const stage = startStage(opts.onProgress, 'estimate', 2 * L + levelBlocks.size, 'steps');
  const progress = (what: string): void => stage.step(++done, what);

  // Stored format of a tensor at each level, and its probe format: the level nearest the probe
  // that stores something other than the source (null when every level keeps the source).
  const source = (t: DecoderTensor): string => t.format.toLowerCase();
  const storedFormats = (t: DecoderTensor): string[] => levels.map((l) => tensorCost(l, t.dims, table).format);
  const probeFormatOf = (t: DecoderTensor): string | null => {
    const order = [...levels].sort((a, b) => Math.abs(a.bitsPerWeight - probeLevel.bitsPerWeight) - Math.abs(b.bitsPerWeight - probeLevel.bitsPerWeight));
    for (const l of order) {
      const f = tensorCost(l, t.dims, table).format;
      if (f !== source(t)) return f;
    }
    return null;
  };
  const rowStepOf = (t: DecoderTensor): number => opts.rowStep ?? Math.max(1, Math.floor((t.dims[1] ?? 1) / 512));
  // werr per stored format (the source format costs nothing).
  const weightErrors = async (t: DecoderTensor, importance: Float32Array | undefined, formats: readonly string[]): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    for (const f of new Set(formats)) {
      if (f === source(t)) { out.set(f, 0); continue; }
      const e = await quantizationError({ data: t.data, format: t.format, dims: [...t.dims], name: t.name }, f, {
        rowStep: rowStepOf(t), ...threads, ...sig, ...(importance ? { importance } : {}),
      });
      out.set(f, e.error);
    }
    return out;
  };
  const swapped = (q: DecoderTensor): DecoderModel => {
    const pick = (t: DecoderTensor): DecoderTensor => (t.name === q.name ? q : t);
    return { ...model, blocks: model.blocks.map((b) => ({ index: b.index, tensors: b.tensors.map(pick) })), globals: model.globals.map(pick) };
  };
  const collector = opts.importance ? undefined : new ImatrixCollector(model);
  const importanceOf = opts.importance ?? ((name: string) => collector!.importance(name));
  // The change of block i's output (probe rows) when t is stored in `format`.
  const blockDelta = async (i: number, t: DecoderTensor, format: string, x: Float32Array, y: Float32Array): Promise<Float32Array> => {
    const imp = importanceOf(t.name);
    const q = await materialise(t, format, { ...threads, ...sig, ...(imp ? { importance: imp } : {}) });
    const delta = x.slice();
    await new Decoder(swapped(q), threads).runBlock(i, delta, Int32Array.from(probeLens), sig);
    blockPasses += P / T;
    for (let k = 0; k < delta.length; k++) delta[k] = delta[k]! - y[k]!;
    return delta;
  };

  interface Probe { t: DecoderTensor; block: number; formats: string[]; werr: Map<string, number>; probe: string | null; delta: Float32Array | null }
  const probes: Probe[] = [];
  // Tails: hidden states of the probe rows carried through the blocks after `block`'s output.
  interface Tail { block: number; format: string; h: Float32Array; sum: Float32Array }
  const open: Tail[] = [];
  const kept = new Map<number, { x: Float32Array; y: Float32Array }>();

  // token_embd: one tail from the embeddings on per stored format.
  const hidden = await ref.embed(batch.tokens);
  const x0 = gather(hidden);
  const embdFormats = storedFormats(embd);
  const embdHeads = new Map<string, Decoder>();
  for (const f of new Set(embdFormats)) {
    if (f === source(embd)) continue;
    const q = await materialise(embd, f, { ...threads, ...sig });
    const dec = new Decoder(swapped(q), threads);
    const h = gather(await dec.embed(batch.tokens));
    open.push({ block: -1, format: f, h, sum: h.map((v, k) => v - x0[k]!) });
    if (!output) embdHeads.set(f, dec); // tied: the same table is the head
  }

  for (let i = 0; i < L; i++) {
    const x = gather(hidden);
    await ref.runBlock(i, hidden, batch.seqLens, collector ? { ...sig, sumsq: collector.block(i, T) } : sig);
    blockPasses += 1;
    if (open.length > 0) {
      // Every open tail through block i in one call.
      const all = new Float32Array(open.length * P * d);
      open.forEach((tl, k) => all.set(tl.h, k * P * d));
      await ref.runBlock(i, all, repeat(probeLens, open.length), sig);
      open.forEach((tl, k) => tl.h.set(all.subarray(k * P * d, (k + 1) * P * d)));
      blockPasses += (open.length * P) / T;
    }
    progress(`blk.${i} reference`);
    const y = gather(hidden);
    if (levelBlocks.has(i)) kept.set(i, { x, y });
    const sum = new Float32Array(P * d);
    for (const t of mats(i)) {
      const formats = storedFormats(t);
      const probe = probeFormatOf(t);
      const werr = await weightErrors(t, importanceOf(t.name), probe ? [...formats, probe] : formats);
      const delta = probe ? await blockDelta(i, t, probe, x, y) : null;
      if (delta) for (let k = 0; k < delta.length; k++) sum[k] = sum[k]! + delta[k]!;
      probes.push({ t, block: i, formats, werr, probe, delta });
    }
    progress(`blk.${i} probes`);
    if (tails.has(i)) open.push({ block: i, format: probeLevel.name, h: y.map((v, k) => v + sum[k]!), sum });
  }

  // Head passes: everything against the reference's final hidden state on the probe rows.
  const final = gather(hidden);
  // Mean KL per row set against the reference's final state, through `dec`'s head (a quantized
  // head for token_embd of a tied model and for output) or the reference's.
  // Rows given as thunks are made one at a time (the probes' injected copies).
  const klOf = async (rows: (Float32Array | (() => Float32Array))[], dec: Decoder = ref): Promise<number[]> => {
    const out: number[] = [];
    for (const r of rows) {
      out.push(await meanKl(ref, final, dec, typeof r === 'function' ? r() : r, { ...threads, ...sig }));
      headRows += 2 * P;
    }
    return out;
  };
  const inject = (delta: Float32Array): Float32Array => final.map((v, k) => v + delta[k]!);
  const blockTails = open.filter((tl) => tl.block >= 0);
  const e2e = await klOf(blockTails.map((tl) => tl.h));
  const skipOfTails = await klOf(blockTails.map((tl) => () => inject(tl.sum)));
  const cAt = new Map<number, number>([[L - 1, 1]]);
  blockTails.forEach((tl, k) => cAt.set(tl.block, skipOfTails[k]! > 0 ? e2e[k]! / skipOfTails[k]! : 1));
  const known = [...cAt.keys()].sort((a, b) => a - b);
  const downstream = Array.from({ length: L }, (_, b) => {
    const exact = cAt.get(b);
    if (exact !== undefined) return exact;
    const lo = known.filter((k) => k < b).pop() ?? known[0]!;
    const hi = known.find((k) => k > b) ?? known[known.length - 1]!;
    const f = hi === lo ? 0 : (b - lo) / (hi - lo);
    return Math.exp(Math.log(cAt.get(lo)!) * (1 - f) + Math.log(cAt.get(hi)!) * f);
  });
  const withDelta = probes.filter((p) => p.delta);
  const skip = new Map<string, Map<string, number>>(); // tensor → format → skip KL
  (await klOf(withDelta.map((p) => () => inject(p.delta!)))).forEach((v, k) => skip.set(withDelta[k]!.t.name, new Map([[withDelta[k]!.probe!, v]])));
  for (const p of withDelta) p.delta = null;
  const embdKl = new Map<string, number>([[source(embd), 0]]);
  for (const tl of open.filter((x) => x.block === -1)) embdKl.set(tl.format, (await klOf([tl.h], embdHeads.get(tl.format)))[0]!);

  // Second pass over the level blocks: every tensor at every other stored format.
  for (const [i, { x, y }] of kept) {
    for (const p of probes.filter((q) => q.block === i && q.probe)) {
      const others = [...new Set(p.formats)].filter((f) => f !== p.probe && f !== source(p.t));
      const deltas: Float32Array[] = [];
      for (const f of others) deltas.push(await blockDelta(i, p.t, f, x, y));
      const kl = await klOf(deltas.map((dl) => () => inject(dl)));
      others.forEach((f, k) => skip.get(p.t.name)!.set(f, kl[k]!));
    }
    progress(`blk.${i} levels`);
  }
  // γ(role, format): median over the level blocks of the skip's level ratio over werr's.
  const gammaOf = new Map<string, number>();
  const gammas: Record<string, number[]> = {};
  for (const p of probes.filter((q) => kept.has(q.block) && q.probe)) {
    const s0 = skip.get(p.t.name)!.get(p.probe!)!, w0 = p.werr.get(p.probe!)!;
    for (const [f, sf] of skip.get(p.t.name)!) {
      const wf = p.werr.get(f)!;
      if (s0 > 0 && w0 > 0 && wf > 0 && sf > 0) {
        (gammas[`${p.t.role}|${f}`] ??= []).push((sf / s0) / (wf / w0));
      }
    }
  }
  function median(v: number[]): number {
    const a = [...v].sort((x, y) => x - y);
    return a.length % 2 ? a[a.length >> 1]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
  }
  for (const [key, v] of Object.entries(gammas)) gammaOf.set(key, median(v));

  // The table, in the planner's units (tensor granularity).
  const byName = new Map<string, number[]>();
  for (const p of probes) {
    const measured = skip.get(p.t.name);
    byName.set(p.t.name, p.formats.map((f) => {
      if (f === source(p.t) || !p.probe) return 0;
      const direct = measured?.get(f);
      if (direct !== undefined) return direct * downstream[p.block]!;
      const w0 = p.werr.get(p.probe)!;
      const ratio = w0 > 0 ? p.werr.get(f)! / w0 : 0;
      return ratio * (gammaOf.get(`${p.t.role}|${f}`) ?? 1) * measured!.get(p.probe)! * downstream[p.block]!;
    }));
  }
  byName.set(embd.name, embdFormats.map((f) => embdKl.get(f)!));
  if (output) {
    const formats = storedFormats(output);
    const imp = importanceOf(output.name);
    const exact = new Map<string, number>();
    for (const f of new Set(formats)) {
      if (f === source(output)) { exact.set(f, 0); continue; }
      const q = await materialise(output, f, { ...threads, ...sig, ...(imp ? { importance: imp } : {}) });
      exact.set(f, (await klOf([final], new Decoder(swapped(q), threads)))[0]!);
    }
    byName.set(output.name, formats.map((f) => exact.get(f)!));
  }
  const units: SensitivityUnit[] = planUnits(model, 'tensor').map((u) => {
    const t = u.tensors[0]!;
    return { id: u.id, kind: u.kind, block: u.block, tensors: [t.name], formats: storedFormats(t).map((f) => [f]), kl: byName.get(t.name) ?? levels.map(() => 0) };
  });
  return {
    method: 'estimate',
    metric: 'kl',
    model: model.path,
    levels: levels.map((l) => l.name),
    granularity: 'tensor',
    units,
    ...(collector ? { imatrix: collector.result({ datasets: [], chunkCount: 0, chunkSize: 0 }) } : {}),
    details: { tokens: T, probeTokens: P, probeLevel: probeLevel.name, tails: open.length, levelBlocks: [...kept.keys()], blockPasses, headRows, downstream, seconds: (performance.now() - t0) / 1000 },
  };
}

/** The importance the quantizers take from the imatrix an estimate collected (llama-quantize's vectors), by tensor name. */
export function estimateImportance(res: Pick<KlEstimateResult, 'imatrix'>): (tensor: string) => Float32Array | undefined {
  const cache = new Map<string, Float32Array | undefined>();
  return (name) => {
    if (!cache.has(name)) cache.set(name, res.imatrix ? imatrixImportance(res.imatrix, name) : undefined);
    return cache.get(name);
  };
}
