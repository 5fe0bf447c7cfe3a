/**
 * llama.cpp's ftype presets against llama-quantize itself: for every ftype, on the shared models
 * (stories260K: tied, 64/172-wide rows; stories8L256: untied, 256/768-wide) and on synthetic
 * models with the shapes the rules look at (32 blocks with GQA 4; 80 blocks with GQA 2, llama.cpp's
 * 70B rule, tied; 32 blocks without GQA and 352-wide ffn_down rows, the fallbacks), without and
 * with an imatrix, every tensor's type from presetTensorTypes equals the type llama-quantize gives
 * (--dry-run report; a written run for a few, which also checks the report parser). Where
 * llama-quantize refuses (no fallback for the type, or an imatrix needed), so do we.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLayerquantError } from '../../lib/errors.js';
import { loadModel } from '../../lib/model/load.js';
import type { ModelDescription } from '../../lib/model/types.js';
import { LLAMA_FTYPES, fileTypeOf, parseFtype, presetTensorTypes, type LlamaFtype } from '../../lib/plan/presets.js';
import { data, dataPath } from '../helpers/data.js';
import { llamaQuantize, llamaToolsBin } from '../helpers/llama-quantize.js';
import { writeSyntheticLlama, type SyntheticShape } from './synthetic.js';

const stories8L256 = dataPath('models/stories8L256/stories8L256-f32.gguf');

// Weights are a tiled random pool (the rules never look at values); F16, as most sources are.
const shapes: Record<string, SyntheticShape> = {
  'gqa4-32blocks': { nLayer: 32, nEmbd: 256, nFf: 512, nHead: 8, nHeadKv: 2, dtype: 'F16', tiled: true },
  '70B-rule-80blocks-tied': { nLayer: 80, nEmbd: 256, nFf: 256, nHead: 8, nHeadKv: 4, dtype: 'F16', tiled: true, tied: true },
  'mha-32blocks-ffn352': { nLayer: 32, nEmbd: 256, nFf: 352, nHead: 8, nHeadKv: 8, dtype: 'F16', tiled: true },
};

let dir: string;
let imatrix: string;
const models: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lq-presets-'));
  models.stories260K = data.stories260K.gguf;
  models.stories8L256 = stories8L256;
  for (const [name, s] of Object.entries(shapes)) {
    models[name] = join(dir, `${name}.gguf`);
    await writeSyntheticLlama(models[name]!, data.stories260K.gguf, s);
  }
  // Any imatrix sets llama.cpp's has_imatrix (its content is not read by a dry run): llama-imatrix's own.
  const calib = join(dir, 'calib.txt');
  writeFileSync(calib, readFileSync(data.text.tinystories, 'utf8').slice(0, 20_000));
  imatrix = join(dir, 'imatrix.gguf');
  execFileSync(join(llamaToolsBin(), 'llama-imatrix'), ['-m', data.stories260K.gguf, '-f', calib, '-c', '128', '--chunks', '4', '-t', '1', '-o', imatrix, '--no-ppl'], { stdio: 'ignore', timeout: 120_000 });
}, 1_800_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Ours = { ok: true; types: Map<string, string> } | { ok: false; code: string; message: string };

/** The model's tensors with their storage format names. */
function tensorsOf(m: ModelDescription): { name: string; dims: number[]; format: string }[] {
  return [...m.blocks.flatMap((b) => b.tensors), ...m.globals].map((t) => ({ name: t.name, dims: t.dims, format: t.format }));
}

function ours(path: string, f: LlamaFtype, hasImatrix: boolean): Ours {
  const m = loadModel(path);
  try {
    const types = presetTensorTypes({ architecture: m.architecture, hparams: m.hparams, blocks: [], globals: tensorsOf(m) }, f, { hasImatrix });
    return { ok: true, types };
  } catch (err) {
    if (!isLayerquantError(err)) throw err;
    return { ok: false, code: err.code, message: err.message };
  } finally {
    m.close();
  }
}

function diff(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const n of new Set([...a.keys(), ...b.keys()])) if (a.get(n) !== b.get(n)) out.push(`${n}: ours ${a.get(n)}, llama.cpp ${b.get(n)}`);
  return out;
}

describe('llama.cpp ftype presets = llama-quantize', () => {
  it('names: llama-quantize spellings, any case, aliases; unknown names are typed errors', () => {
    expect(parseFtype('q4_k_m').name).toBe('Q4_K_M');
    expect(parseFtype('Q4_K').name).toBe('Q4_K_M');
    expect(parseFtype('iq4_xs').id).toBe(30);
    expect(() => parseFtype('Q4_K_X')).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
  });

  for (const modelName of ['stories260K', 'stories8L256', ...Object.keys(shapes)]) {
    it(`${modelName}: every ftype, without and with an imatrix`, () => {
      const path = models[modelName]!;
      const failures: string[] = [];
      let compared = 0;
      const refused: string[] = [];
      for (const f of LLAMA_FTYPES) {
        for (const withImatrix of [false, true]) {
          const ref = llamaQuantize(path, f.name, { dryRun: true, ...(withImatrix ? { imatrix } : {}) });
          const mine = ours(path, f, withImatrix);
          const what = `${f.name}${withImatrix ? ' +imatrix' : ''}`;
          if (ref.status !== 0) {
            if (mine.ok) failures.push(`${what}: llama-quantize failed (${ref.log.split('\n').filter((l) => /error|failed/i.test(l)).slice(-1)[0]}) but we gave types`);
            else if (mine.code !== 'E_UNSUPPORTED') failures.push(`${what}: llama-quantize failed, we said ${mine.code}`);
            refused.push(what);
            continue;
          }
          const refNeedsImatrix = ref.log.includes('will require an imatrix');
          if (!mine.ok) {
            if (!(refNeedsImatrix && mine.code === 'E_BAD_ARGUMENT')) failures.push(`${what}: we refused (${mine.message}), llama-quantize did not`);
            refused.push(`${what} (imatrix)`);
            continue;
          }
          if (refNeedsImatrix) failures.push(`${what}: llama-quantize needs an imatrix, we did not refuse`);
          expect(ref.types.size, `${what}: parsed llama-quantize's report`).toBeGreaterThan(0);
          const d = diff(mine.types, ref.types);
          if (d.length) failures.push(`${what}: ${d.length} tensors differ, e.g. ${d.slice(0, 3).join('; ')}`);
          compared++;
        }
      }
      console.log(`${modelName}: ${compared} ftype runs equal tensor for tensor; refused by both: ${refused.join(', ')}`);
      expect(failures).toEqual([]);
      expect(compared).toBeGreaterThan(20);
    }, 600_000);
  }

  it('our written files carry general.file_type and general.quantization_version as llama-quantize writes them for the same mix', async () => {
    const { quantizeModel } = await import('../../lib/quantize/pipeline.js');
    const { openGguf } = await import('../../lib/io/gguf-read.js');
    const keys = (p: string) => {
      const g = openGguf(p);
      try {
        return { fileType: g.get('general.file_type'), version: g.get('general.quantization_version') };
      } finally {
        g.close();
      }
    };
    for (const [ftype, level] of [['Q8_0', 'Q8_0'], ['Q6_K', 'Q6_K']] as const) {
      const theirs = join(dir, `kv-llama-${ftype}.gguf`), mine = join(dir, `kv-ours-${ftype}.gguf`);
      expect(llamaQuantize(stories8L256, ftype, { output: theirs }).status).toBe(0);
      // Every tensor at the level (output and embeddings too), as the mix's dominant type.
      await quantizeModel(stories8L256, { bits: '32' }, { levels: level, method: 'none', output: mine });
      expect(keys(mine)).toEqual(keys(theirs));
    }
  }, 300_000);

  it('written runs agree with the dry-run report, and general.file_type is the preset id', () => {
    for (const [path, ftype] of [[stories8L256, 'Q4_K_M'], [stories8L256, 'Q3_K_S'], [data.stories260K.gguf, 'Q4_K_M'], [data.stories260K.gguf, 'Q2_K']] as const) {
      const out = join(dir, `written-${ftype}.gguf`);
      const written = llamaQuantize(path, ftype, { output: out });
      expect(written.status, written.log.slice(-2000)).toBe(0);
      const dry = llamaQuantize(path, ftype, { dryRun: true });
      expect(written.types).toEqual(dry.types);
      expect(written.fileType).toBe(parseFtype(ftype).id);
      const mine = ours(path, parseFtype(ftype), false);
      expect(mine.ok && diff(mine.types, written.types)).toEqual([]);
      const m = loadModel(path);
      try {
        expect(fileTypeOf(tensorsOf(m), ftype)).toBe(written.fileType);
      } finally {
        m.close();
      }
    }
  }, 600_000);
});
