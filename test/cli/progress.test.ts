// Long commands report progress: `--progress json` prints one JSON event per step on stderr (the
// library's own events), and a terminal gets a bar with an ETA that ends its line per stage.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.js';
import type { ProgressEvent } from '../../lib/progress.js';
import { data, needData } from '../helpers/data.js';

async function cli(args: string[], tty = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t), tty });
  return { code, out, err };
}

const events = (err: string): ProgressEvent[] => err.trim().split('\n').map((l) => JSON.parse(l) as ProgressEvent);

describe.skipIf(needData(data.stories260K.gguf, data.stories260K.hf, data.text.tinystories))('progress', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lq-progress-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--progress json: every stage counts from 0 to its total, with elapsed time and an ETA', async () => {
    const runs: [string[], string[]][] = [
      [['rank', data.stories260K.gguf, '--method', 'lim'], ['rank']],
      [['quantize', data.stories260K.gguf, '--bits', '8', '--levels', 'Q4_0,Q8_0', '--tokens', '128', '-o', join(dir, 'q.gguf')], ['estimate', 'quantize']],
      [['quantize', data.stories260K.gguf, '--bits', '8', '--levels', 'Q4_0,Q8_0', '--method', 'zd', '-o', join(dir, 'z.gguf')], ['rank', 'quantize']],
      [['quantize', data.stories260K.gguf, '--bits', '8', '--levels', 'Q4_0,Q8_0', '--method', 'sensitivity', '--tokens', '128', '--plan-only'], ['sensitivity']],
      [['eval', data.stories260K.gguf, '--text', data.text.tinystories, '--chunks', '3'], ['eval']],
      [['convert', data.stories260K.hf, '-o', join(dir, 'c.gguf')], ['convert']],
    ];
    for (const [args, stages] of runs) {
      const r = await cli([...args, '--progress', 'json']);
      expect(r.code, r.err).toBe(0);
      const ev = events(r.err);
      expect([...new Set(ev.map((e) => e.stage))], args[0]).toEqual(stages);
      for (const s of stages) {
        const mine = ev.filter((e) => e.stage === s);
        expect(mine.at(-1)!.done, `${args[0]} ${s}`).toBe(mine.at(-1)!.total);
        expect(mine.map((e) => e.done)).toEqual([...mine.map((e) => e.done)].sort((a, b) => a - b));
        expect(mine.every((e) => e.elapsed >= 0)).toBe(true);
        expect(mine.filter((e) => e.done > 0).every((e) => e.eta !== undefined && e.eta >= 0)).toBe(true);
      }
    }
  });

  it('a terminal gets a bar with an ETA; without one, and with --progress none, nothing', async () => {
    const tty = await cli(['rank', data.stories260K.gguf, '--method', 'zd'], true);
    expect(tty.err).toMatch(/\rrank \[#+\] 100%\s+blk\.4\s+\S+/);
    expect(tty.err).toMatch(/ETA/);
    expect(tty.err.endsWith('\n')).toBe(true);
    expect((await cli(['rank', data.stories260K.gguf, '--method', 'zd'])).err).toBe('');
    expect((await cli(['rank', data.stories260K.gguf, '--method', 'zd', '--progress', 'none'], true)).err).toBe('');
    expect((await cli(['rank', data.stories260K.gguf, '--progress', 'bars'])).code).toBe(2);
  });
});
