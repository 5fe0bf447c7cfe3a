/**
 * `layerquant quantize <model> --bits B | --size S | --fit …`: the library's quantizeModel
 * (lib/quantize/pipeline.ts) with its options from the flags; prints the plan and what was written.
 */
import { readTextFile } from '../../eval/text.js';
import { STRATEGIES, type StrategyName } from '../../plan/solve.js';
import { parseGlobalsPolicy } from '../../plan/plan.js';
import { formatPlanTable, isPlanJson, readPlanFile, writePlanFile } from '../../plan/plan-file.js';
import { parseScores } from '../../plan/scores.js';
import { formatBytes, type BudgetArgs } from '../../plan/budget.js';
import { DEFAULT_LEVELS, quantizeModel, type QuantizeMethod, type QuantizeModelOptions } from '../../quantize/pipeline.js';
import { planFromTensorTypes, registryFormats } from '../../quantize/plan-model.js';
import { readTensorTypeFile, tensorTypeFileText, tensorTypesFromOverrides, writeTensorTypeFile } from '../../plan/tensor-types.js';
import { loadModel } from '../../model/load.js';
import type { UnknownCharPolicy } from '../../tokenize/tokenizer.js';
import { UsageError, interruptSignal, jsonOption, listOption, nonNegativeInt, oneOf, onePositional, positiveInt, progressOption, str, threadsOption, unknownOption, type CommandSpec } from '../command.js';
import { progressMode, progressRenderer } from '../progress.js';

const B = 'Budget (exactly one)', P = 'Plan', O = 'Output';

export const quantizeCommand: CommandSpec = {
  name: 'quantize',
  summary: 'Quantize a model layer by layer to a budget (bits per weight, file size, or free memory) into GGUF',
  usage: 'quantize <model> (--bits B | --size S | --fit | --plan plan.json) (-o out.gguf | --plan-only) [options]',
  options: {
    bits: { type: 'string', value: 'B', group: B, help: 'average bits per weight over every 2-D weight tensor (embeddings and output\nincluded unless --globals source), block scales and fallbacks counted exactly' },
    size: { type: 'string', value: 'S', group: B, help: 'output file size: 123456789, 6.5GB (10^9), 6GiB (2^30), 512MiB…; above the largest\nplan, the largest plan (and a note)' },
    fit: { type: 'boolean', group: B, help: 'fit in the memory available now, minus the KV cache and an overhead' },
    context: { type: 'string', value: 'N', group: B, default: '4096', help: '--fit: tokens of KV cache to reserve (F16 cache)' },
    device: { type: 'string', value: 'D', group: B, default: 'cpu', help: '--fit: cpu (MemAvailable) or cuda (free device memory)' },
    overhead: { type: 'string', value: 'S', group: B, help: '--fit: runtime overhead to reserve (default 256 MiB cpu / 512 MiB cuda + compute buffers)' },
    levels: { type: 'string', value: 'L', group: P, default: DEFAULT_LEVELS, help: 'formats to mix, e.g. Q4_0,Q8_0 or int2,int4' },
    method: { type: 'string', value: 'M', group: P, help: 'how the plan is scored: estimate (default), sensitivity, lim, zd or none.\nestimate: the KL of the output vs the unquantized model for every tensor at every\nlevel, estimated in one pass over the blocks on calibration text (each matrix\nquantized alone, its block rerun on probe tokens, the change carried to the head);\none block pass per block over --tokens plus, per block, 7 × levels over 256 probe\ntokens (64 above 1e9 weights): cost linear in depth. The file is quantized with\nthe imatrix that pass collects. sensitivity: the same table measured end to end\n(cost grows with depth squared; best quality, slow). lim, zd: block importance only\n(the paper\'s methods). With --scores, recorded as given unless named' },
    calib: { type: 'string', value: 'FILE', group: P, help: 'calibration text for --method lim|sensitivity|estimate (default: the built-in text);\nwithout --imatrix, also the imatrix every quantizer gets, collected in the same pass\n(a pass of its own with zd/none; lim and sensitivity cut the text into\nllama-imatrix\'s chunks)' },
    imatrix: { type: 'string', value: 'FILE', group: P, multiple: true, help: 'importance matrix for every quantizer, as llama-quantize --imatrix (GGUF or .dat\nof llama-imatrix or `layerquant imatrix`; repeatable or a comma list: combined);\n--method estimate then estimates with it' },
    tokens: { type: 'string', value: 'N', group: P, help: 'calibration tokens (default: estimate 512, sensitivity 1024, lim all of the text\nup to 4096); the estimate\'s time grows linearly with them' },
    unknown: { ...unknownOption, group: P },
    scores: { type: 'string', value: 'X', group: P, help: 'importance per block instead: "0.1,0.5,…" or a JSON file (higher = more important)' },
    strategy: { type: 'string', value: 'S', group: P, default: 'optimal', help: STRATEGIES.join(', ') },
    seed: { type: 'string', value: 'N', group: P, default: '1', help: 'seed of --strategy random' },
    globals: { type: 'string', value: 'P', group: P, default: 'auto', help: 'embeddings/output head: auto (solver units, output head weighted high), last\n(units moved after every block), highest, source (kept unquantized, not counted in\nbits), or a format such as Q8_0' },
    granularity: { type: 'string', value: 'G', group: P, help: 'block or tensor (default: tensor under --method estimate, else block)' },
    plan: { type: 'string', value: 'FILE', group: P, help: 'use a saved plan instead of planning: plan JSON (--save-plan; validated against the model)\nor a llama-quantize --tensor-type-file (--emit-tensor-types) naming every tensor' },
    'save-plan': { type: 'string', value: 'FILE', group: P, help: 'write the plan as JSON' },
    'emit-tensor-types': { type: 'string', value: 'FILE', group: P, help: 'write the plan as a llama-quantize --tensor-type-file (anchored, disjoint patterns;\nreplay: llama-quantize --tensor-type-file FILE [--imatrix …] in out <the ftype printed>)' },
    'plan-only': { type: 'boolean', group: P, help: 'print the plan and stop (no -o needed)' },
    output: { type: 'string', short: 'o', value: 'FILE', group: O, help: 'the GGUF to write (required unless --plan-only; a temporary file, then renamed:\nCtrl-C leaves nothing)' },
    threads: { ...threadsOption, group: O },
    progress: { ...progressOption, group: O },
    json: { ...jsonOption, group: O },
  },
  epilog: ['Example:', '  layerquant quantize ../shared/data/models/stories260K/stories260K-f32.gguf --bits 7.5 --levels Q4_0,Q8_0 -o out.gguf'],
  async run({ values: v, positionals }, io) {
    const path = onePositional(positionals);
    const planOnly = v['plan-only'] === true;
    const output = str(v.output);
    if (!planOnly && !output) throw new UsageError('missing -o <out.gguf> (or --plan-only)');
    const planFile = str(v.plan);
    const budget: BudgetArgs = {};
    if (v.bits !== undefined) budget.bits = String(v.bits);
    if (v.size !== undefined) budget.size = String(v.size);
    if (v.fit) budget.fit = true;
    budget.context = positiveInt(v.context, 'context')!;
    budget.device = oneOf(v.device, 'device', ['cpu', 'cuda'] as const);
    if (v.overhead !== undefined) budget.overhead = String(v.overhead);
    const calib = str(v.calib);
    const imatrixFiles = listOption(v.imatrix);
    const tokens = positiveInt(v.tokens, 'tokens');
    const threads = positiveInt(v.threads, 'threads');
    const opts: QuantizeModelOptions = {
      levels: str(v.levels)!,
      ...(v.method !== undefined ? { method: oneOf(v.method, 'method', ['zd', 'lim', 'sensitivity', 'estimate', 'none'] as const) as QuantizeMethod } : {}),
      strategy: oneOf(v.strategy, 'strategy', STRATEGIES) as StrategyName,
      ...(v.granularity !== undefined ? { granularity: oneOf(v.granularity, 'granularity', ['block', 'tensor'] as const) } : {}),
      globals: parseGlobalsPolicy(str(v.globals)!),
      seed: nonNegativeInt(v.seed, 'seed')!,
      calibration: {
        unknown: oneOf(v.unknown, 'unknown', ['error', 'skip', 'unk'] as const) as UnknownCharPolicy,
        ...(calib ? { text: readTextFile(calib), name: calib } : {}),
        ...(tokens !== undefined ? { tokens } : {}),
      },
      ...(imatrixFiles.length > 0 ? { imatrix: imatrixFiles } : calib ? { imatrix: 'calibrate' as const } : {}),
      ...(threads !== undefined ? { threads } : {}),
      ...(output && !planOnly ? { output } : {}),
    };
    if (v.scores !== undefined) opts.scores = parseScores(String(v.scores));
    const listener = progressRenderer(progressMode(v.progress), io.stderr, io.tty === true && !v.json);
    if (listener) opts.onProgress = listener;
    const model = loadModel(path);
    const interrupt = interruptSignal();
    opts.signal = interrupt.signal;
    try {
      if (planFile) opts.plan = isPlanJson(planFile) ? readPlanFile(planFile, model, registryFormats()) : await planFromTensorTypes(model, tensorTypesFromOverrides(model, readTensorTypeFile(planFile), undefined, {}, planFile));
      const savePlan = str(v['save-plan']);
      const emitTypes = str(v['emit-tensor-types']);
      opts.onPlan = (plan, report) => {
        if (savePlan) writePlanFile(savePlan, plan);
        if (emitTypes) {
          const source = new Map([...model.blocks.flatMap((b) => b.tensors), ...model.globals].map((t) => [t.name, t.format]));
          const f = tensorTypeFileText(plan.tensors, (n) => source.get(n));
          writeTensorTypeFile(emitTypes, f.text);
          report.notes.push(`tensor types written to ${emitTypes}: replay with llama-quantize --tensor-type-file ${emitTypes} <in> <out> ${f.ftype.name}` +
            (f.unreplayable.length ? `; llama-quantize keeps ${f.unreplayable.join(', ')} in the source type` : ''));
        }
        // stderr carries only JSON events with --progress json
        if (progressMode(v.progress) !== 'json') for (const w of report.warnings) io.stderr(`warning: ${w}\n`);
        if (v.json) return;
        io.stdout(`${formatPlanTable(plan)}\n`);
        for (const n of report.notes) io.stdout(`note: ${n}\n`);
      };
      const r = await quantizeModel(model, planFile ? undefined : budget, opts);
      if (v.json) {
        io.stdout(`${JSON.stringify(r.file ? { path: r.file.path, bytes: r.file.bytes, seconds: r.file.seconds, bitsPerWeight: r.plan.totals.bitsPerWeight, plan: r.plan, notes: r.report.notes } : r.plan, null, 2)}\n`);
      } else if (r.file) {
        io.stdout(`wrote ${r.file.path}: ${r.file.bytes} bytes (${formatBytes(r.file.bytes)}), ${r.plan.totals.bitsPerWeight.toFixed(4)} bits per weight, in ${r.file.seconds.toFixed(2)} s\n`);
      }
      return 0;
    } finally {
      interrupt.dispose();
      model.close();
    }
  },
};
