/**
 * Faults at the output, through the built CLI as users run it: a full disk (a file-size limit in
 * the child, `ulimit -f`, which makes writes fail with EFBIG; and a small tmpfs, ENOSPC, where this
 * machine lets us mount one), a missing output folder, a read-only one, and an output that is the
 * input under another name (convert here; quantize in test/cli/quantize-safety.test.ts). Each must
 * end with a typed error, exit 1 (2 for the refused output, a usage error), no file left in the
 * output folder, and the source untouched.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../helpers/cli.js';
import { data, needData, repoRoot } from '../helpers/data.js';

const skip = needData(data.stories260K.gguf, data.stories260K.hf);
const QUANTIZE = ['--bits', '8', '--levels', 'Q4_0,Q8_0', '--method', 'none'];
let built: ReturnType<typeof buildCli>;
let tmp: string;
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

beforeAll(() => {
  built = buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'lq-faults-'));
  // Readable by the unprivileged user of the read-only folder case.
  chmodSync(tmp, 0o755);
  chmodSync(built.dir, 0o755);
});
afterAll(() => {
  built?.cleanup();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Runs the built CLI in a child; `limitKiB` sets RLIMIT_FSIZE (bash `ulimit -f`, 1 KiB blocks). */
function run(argv: string[], opts: { limitKiB?: number; uid?: number } = {}): SpawnSyncReturns<string> {
  const node = [process.execPath, built.main, ...argv];
  const quoted = node.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const [cmd, args] = opts.limitKiB !== undefined ? ['bash', ['-c', `ulimit -f ${opts.limitKiB} && exec ${quoted}`]] : [node[0]!, node.slice(1)];
  return spawnSync(cmd!, args as string[], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000, ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}) });
}

function expectTypedFailure(r: SpawnSyncReturns<string>, code: RegExp, folder: string): void {
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toMatch(code);
  expect(r.stderr).not.toMatch(/internal error/);
  expect(readdirSync(folder)).toEqual([]);
}

describe.skipIf(skip)('faults at the output', () => {
  it('a full disk (file-size limit): quantize and convert fail with E_IO, exit 1, nothing left', () => {
    const out = join(tmp, 'limited');
    mkdirSync(out);
    const q = run(['quantize', data.stories260K.gguf, ...QUANTIZE, '-o', join(out, 'q.gguf')], { limitKiB: 200 });
    expectTypedFailure(q, /EFBIG.*\[E_IO\]/s, out);
    const c = run(['convert', data.stories260K.hf, '-o', join(out, 'c.gguf')], { limitKiB: 300 });
    expectTypedFailure(c, /EFBIG.*\[E_IO\]/s, out);
  });

  // Mounting needs privileges CI machines may lack; then the file-size limit above stands alone.
  it('a full disk (a 128 KiB tmpfs): ENOSPC gives E_IO, exit 1, nothing left', (ctx) => {
    const out = join(tmp, 'tmpfs');
    mkdirSync(out);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', out], { encoding: 'utf8' });
    if (m.status !== 0) ctx.skip();
    try {
      expectTypedFailure(run(['quantize', data.stories260K.gguf, ...QUANTIZE, '-o', join(out, 'q.gguf')]), /ENOSPC.*\[E_IO\]/s, out);
      expectTypedFailure(run(['convert', data.stories260K.hf, '-o', join(out, 'c.gguf')]), /ENOSPC.*\[E_IO\]/s, out);
    } finally {
      spawnSync('umount', [out]);
    }
  });

  it('a missing output folder: E_NOT_FOUND naming it, exit 1, nothing created', () => {
    const missing = join(tmp, 'missing', 'deeper');
    for (const argv of [['quantize', data.stories260K.gguf, ...QUANTIZE], ['convert', data.stories260K.hf]]) {
      const r = run([...argv, '-o', join(missing, 'x.gguf')]);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/missing\/deeper.*\[E_NOT_FOUND\]/s);
      expect(readdirSync(tmp)).not.toContain('missing');
    }
  });

  it('a read-only output folder: E_IO, exit 1, nothing written', () => {
    const ro = join(tmp, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    // Root writes anywhere: run the child as nobody, for whom the folder is read-only.
    const uid = process.getuid?.() === 0 ? 65534 : undefined;
    const model = join(tmp, 'model.gguf');
    copyFileSync(data.stories260K.gguf, model);
    chmodSync(model, 0o644);
    for (const argv of [['quantize', model, ...QUANTIZE], ['convert', data.stories260K.hf]]) {
      const r = run([...argv, '-o', join(ro, 'x.gguf')], uid === undefined ? {} : { uid });
      expectTypedFailure(r, /EACCES.*\[E_IO\]/s, ro);
    }
  });

  it('convert -o onto its own safetensors (path, symbolic or hard link) is refused, the source untouched', () => {
    const hf = join(tmp, 'hf');
    mkdirSync(hf);
    for (const f of readdirSync(data.stories260K.hf)) copyFileSync(join(data.stories260K.hf, f), join(hf, f));
    const st = join(hf, 'model.safetensors');
    const before = sha(st);
    symlinkSync(st, join(tmp, 'st-link'));
    linkSync(st, join(tmp, 'st-hard'));
    for (const out of [st, join(tmp, 'st-link'), join(tmp, 'st-hard')]) {
      const r = run(['convert', hf, '-o', out]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/the output is the input file/);
      expect(sha(st)).toBe(before);
    }
  });
});
