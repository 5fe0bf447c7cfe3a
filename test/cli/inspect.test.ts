// `layerquant inspect` on the shared stories260K GGUF and HF folder (acceptance 3), in-process and
// through the built bin; CLI exit codes and help.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectReport } from '../../lib/cli/commands/inspect.js';
import { buildCli, cli, runBuilt } from '../helpers/cli.js';
import { data, needData } from '../helpers/data.js';

const skip = needData(data.stories260K.gguf, data.stories260K.hf);

function checkStories(r: InspectReport, source: 'gguf' | 'hf'): void {
  expect(r.source).toBe(source);
  expect(r.architecture).toBe('llama');
  expect(r.blocks).toHaveLength(5);
  expect(r.hparams).toMatchObject({ nLayer: 5, nEmbd: 64, nHead: 8, nHeadKv: 4, nVocab: 512, nFf: 172, headDim: 8 });
  expect(r.blocks[0]!.tensors).toHaveLength(9);
  const q = r.blocks[0]!.tensors[0]!;
  expect(q).toMatchObject({ name: 'blk.0.attn_q.weight', format: 'f32', dims: [64, 64], elements: 4096, bytes: 16384 });
  const blockBytes = 4 * (64 * 64 * 2 + 64 * 32 * 2 + 64 * 172 * 3 + 64 * 2);
  for (const b of r.blocks) expect(b.bytes).toBe(blockBytes);
  const globals = source === 'gguf' ? 3 : 2; // the reference GGUF stores an untied output.weight copy; the HF folder is tied
  expect(r.totals.tensors).toBe(45 + globals);
  expect(r.totals.bytes).toBe(5 * blockBytes + 4 * (64 * 512 * (globals - 1) + 64));
  expect(r.totals.bitsPerWeight).toBe(32);
}

describe.skipIf(skip)('layerquant inspect (in-process)', () => {
  it('--json on the GGUF: 5 blocks, hidden 64, 8 heads, 4 KV heads, vocab 512', async () => {
    const r = await cli('inspect', data.stories260K.gguf, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    checkStories(JSON.parse(r.stdout) as InspectReport, 'gguf');
  });

  it('--json on the HF folder: the same', async () => {
    const r = await cli('inspect', data.stories260K.hf, '--json');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as InspectReport;
    checkStories(rep, 'hf');
    expect(rep.hparams.tiedEmbeddings).toBe(true);
    expect(rep.blocks[1]!.tensors[1]).toMatchObject({ name: 'blk.1.attn_k.weight', hfName: 'model.layers.1.self_attn.k_proj.weight', permuteHeads: 4 });
  });

  it('prints a human table', async () => {
    const r = await cli('inspect', data.stories260K.gguf);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/architecture\s+llama/);
    expect(r.stdout).toContain('blocks 5, hidden 64, ffn 172, heads 8, kv heads 4, head dim 8, vocab 512');
    expect(r.stdout).toMatch(/blk\.4\.ffn_down\.weight\s+f32\s+172 × 64\s+11,008\s+44,032/);
    expect(r.stdout).toMatch(/total\s+5 blocks, 48 tensors, 292,800 elements, 1,171,200 bytes/);
  });

  it('exit codes: 1 with the message (no stack) on errors, 2 on usage errors; --help', async () => {
    const missing = await cli('inspect', '/nonexistent/model.gguf');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('/nonexistent/model.gguf');
    expect(missing.stderr).toContain('E_NOT_FOUND');
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    expect((await cli('inspect')).code).toBe(2);
    expect((await cli('inspect', '--nope', 'x')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    const help = await cli('inspect', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: layerquant inspect <model> [--json]');
    const top = await cli('--help');
    expect(top.stdout).toMatch(/inspect\s+Show/);
    expect(top.stdout).toMatch(/convert\s+Convert/);
  });
});

describe.skipIf(skip)('layerquant inspect (built bin)', () => {
  let built: ReturnType<typeof buildCli>;
  beforeAll(() => {
    built = buildCli();
  });
  afterAll(() => built?.cleanup());

  it('node dist/cli/main.js inspect <gguf|hf> --json', async () => {
    for (const [path, source] of [[data.stories260K.gguf, 'gguf'], [data.stories260K.hf, 'hf']] as const) {
      const r = await runBuilt(built.main, 'inspect', path, '--json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      checkStories(JSON.parse(r.stdout) as InspectReport, source);
    }
  });

  it('exits 1 on a bad model and 2 on a usage error', async () => {
    const bad = await runBuilt(built.main, 'inspect', '/nonexistent/x.gguf');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('E_NOT_FOUND');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect((await runBuilt(built.main, 'inspect')).code).toBe(2);
    const help = await runBuilt(built.main, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: layerquant <command>');
  });
});
