/**
 * Tensor-type files (lib/plan/tensor-types.ts) replayed by llama-quantize itself: a mixed plan of
 * ours (tensor granularity, k-quants on stories8L256; block-32 formats and F16 fallbacks on
 * stories260K) and a llama.cpp preset, written as a --tensor-type-file, come out of llama-quantize
 * with every tensor in the plan's type. Read back, the same file gives the same types (and
 * `quantize --plan file` the plan's own bytes); with a preset, a hand-written override file gives what llama-quantize gives for that ftype and file.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../lib/model/load.js';
import type { ModelDescription } from '../../lib/model/types.js';
import { parseBudget } from '../../lib/plan/budget.js';
import { parseFtype, presetTensorTypes, type PresetModel } from '../../lib/plan/presets.js';
import { parseTensorTypeFile, tensorTypeFileText, tensorTypesFromOverrides, type TypedTensor } from '../../lib/plan/tensor-types.js';
import { planModel, registryFormats } from '../../lib/quantize/plan-model.js';
import { data, dataPath } from '../helpers/data.js';
import { llamaQuantize } from '../helpers/llama-quantize.js';
import { cli, cliOk } from '../helpers/cli.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { ggmlTypeInfo } from '../../lib/io/ggml-types.js';

const stories8L256 = dataPath('models/stories8L256/stories8L256-f32.gguf');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lq-tensor-types-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function presetModel(m: ModelDescription): PresetModel {
  const fmt = (t: { format: string }): string => t.format;
  return {
    architecture: m.architecture,
    hparams: m.hparams,
    blocks: m.blocks.map((b) => ({ tensors: b.tensors.map((t) => ({ name: t.name, dims: t.dims, format: fmt(t) })) })),
    globals: m.globals.map((t) => ({ name: t.name, dims: t.dims, format: fmt(t) })),
  };
}

/** Writes `tensors` as a tensor-type file, replays it with llama-quantize, returns both type maps. */
function replay(input: string, m: PresetModel, tensors: TypedTensor[], tag: string, ftype?: string) {
  const source = new Map([...m.blocks.flatMap((b) => b.tensors), ...m.globals].map((t) => [t.name, t.format]));
  const file = tensorTypeFileText(tensors, (n) => source.get(n));
  const path = join(dir, `${tag}.txt`);
  writeFileSync(path, file.text);
  const out = join(dir, `${tag}.gguf`);
  const run = llamaQuantize(input, ftype ?? file.ftype.name, { output: out, tensorTypeFile: path });
  expect(run.status, run.log.slice(-3000)).toBe(0);
  return { file, path, want: new Map(tensors.map((t) => [t.name, t.format])), got: run.types };
}

describe('tensor-type files replayed by llama-quantize', () => {
  it('stories8L256: a tensor-granularity k-quant mix comes back tensor for tensor', async () => {
    const m = loadModel(stories8L256);
    try {
      const plan = await planModel(m, { levels: 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0', budget: await parseBudget({ bits: '4.9' }, m.hparams), granularity: 'tensor', importance: [8, 1, 5, 3, 7, 2, 6, 4], formats: registryFormats() });
      expect(new Set(plan.tensors.filter((t) => t.covered).map((t) => t.format)).size).toBeGreaterThanOrEqual(3);
      const pm = presetModel(m);
      const r = replay(stories8L256, pm, plan.tensors, 'mix8L');
      expect(r.file.unreplayable).toEqual([]);
      expect(r.got).toEqual(r.want);
      // Anchored and disjoint: every tensor llama-quantize quantizes is named by exactly one pattern.
      const overrides = parseTensorTypeFile(r.file.text);
      for (const t of plan.tensors.filter((x) => x.dims.length > 1)) expect(overrides.filter((o) => o.pattern.test(t.name)).length, t.name).toBe(1);
      expect(tensorTypesFromOverrides(pm, overrides)).toEqual(r.want);
    } finally {
      m.close();
    }
  });

  it('quantize --emit-tensor-types: llama-quantize replays it into our file\'s types, and quantize --plan takes it back into our file\'s bytes', async () => {
    const types = join(dir, 'emitted.txt'), ours = join(dir, 'emitted-ours.gguf'), back = join(dir, 'emitted-back.gguf'), theirs = join(dir, 'emitted-llama.gguf');
    const run = await cliOk('quantize', stories8L256, '--bits', '4.4', '--method', 'zd', '--granularity', 'tensor', '-o', ours, '--emit-tensor-types', types, '--progress', 'none');
    const ftype = /--tensor-type-file \S+ <in> <out> (\S+)/.exec(run.stdout)?.[1];
    expect(ftype, run.stdout).toBeDefined();
    const typesOf = (path: string): Map<string, string> => {
      const g = openGguf(path);
      try {
        return new Map(g.header.tensors.map((t) => [t.name, ggmlTypeInfo(t.type)!.name]));
      } finally {
        g.close();
      }
    };
    const want = typesOf(ours);
    expect(new Set(want.values()).size).toBeGreaterThanOrEqual(3);
    const replayed = llamaQuantize(stories8L256, ftype!, { output: theirs, tensorTypeFile: types });
    expect(replayed.status, replayed.log.slice(-3000)).toBe(0);
    expect(replayed.types).toEqual(want);
    await cliOk('quantize', stories8L256, '--plan', types, '-o', back, '--progress', 'none');
    const a = openGguf(ours), b = openGguf(back);
    try {
      expect(b.header.tensors.map((t) => t.name)).toEqual(a.header.tensors.map((t) => t.name));
      for (const t of a.header.tensors) expect(Buffer.from(b.tensorData(b.tensor(t.name)!)).equals(Buffer.from(a.tensorData(t))), t.name).toBe(true);
    } finally {
      a.close();
      b.close();
    }
    // A file that leaves a tensor out is refused naming it (llama-quantize would take the ftype for it).
    const partial = join(dir, 'partial.txt');
    writeFileSync(partial, readFileSync(types, 'utf8').split('\n').filter((l) => !l.includes('output')).join('\n'));
    const r = await cli('quantize', stories8L256, '--plan', partial, '-o', join(dir, 'never.gguf'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E_BAD_PLAN/);
    expect(r.stderr).toMatch(/output\.weight/);
    expect(existsSync(join(dir, 'never.gguf'))).toBe(false);
  });

  it('stories260K: q4_0/q5_0/q8_0 with F16 fallbacks (172-wide rows), tied embeddings', async () => {
    const m = loadModel(data.stories260K.gguf);
    try {
      const plan = await planModel(m, { levels: 'Q4_0,Q5_0,Q8_0', budget: await parseBudget({ bits: '7.6' }, m.hparams), granularity: 'tensor', importance: [5, 1, 4, 2, 3], formats: registryFormats() });
      expect(plan.tensors.some((t) => t.format === 'f16')).toBe(true);
      const pm = presetModel(m);
      const r = replay(data.stories260K.gguf, pm, plan.tensors, 'mix260K');
      expect(r.got).toEqual(r.want);
      expect(tensorTypesFromOverrides(pm, parseTensorTypeFile(r.file.text))).toEqual(r.want);
    } finally {
      m.close();
    }
  });

  it('a preset (Q4_K_M) written as a file replays under another ftype', () => {
    const m = loadModel(stories8L256);
    try {
      const pm = presetModel(m);
      const types = presetTensorTypes(pm, parseFtype('Q4_K_M'));
      const tensors = [...pm.blocks.flatMap((b) => b.tensors), ...pm.globals].map((t) => ({ ...t, format: types.get(t.name)! }));
      const r = replay(stories8L256, pm, tensors, 'preset', 'Q8_0');
      expect(r.got).toEqual(r.want);
    } finally {
      m.close();
    }
  });

  it('overrides with a preset: ours equals llama-quantize for the ftype and the same file', () => {
    const m = loadModel(stories8L256);
    try {
      const pm = presetModel(m);
      // First match wins (blk.1 takes q8_0 before the wider blk.[0-3] entry); matched tensors skip
      // llama.cpp's counters, so the unmatched attn_v and ffn_down of blocks 4-7 are counted as
      // 0-3 by its mix rules; patterns are lowercased; entries split on any white space.
      const text = 'blk\\.1\\.attn_v=q8_0\nBLK\\.[0-3]\\.ATTN_V=Q5_K\n  blk\\.[0-3]\\.ffn_down\\.weight=q4_0\t^output\\.weight$=q8_0\n';
      const path = join(dir, 'hand.txt');
      writeFileSync(path, text);
      for (const ftype of ['Q4_K_M', 'Q3_K_M', 'Q5_K_M']) {
        const run = llamaQuantize(stories8L256, ftype, { dryRun: true, tensorTypeFile: path });
        expect(run.status, run.log.slice(-2000)).toBe(0);
        expect(tensorTypesFromOverrides(pm, parseTensorTypeFile(text, path), parseFtype(ftype))).toEqual(run.types);
      }
    } finally {
      m.close();
    }
  });
});
