/**
 * Tensor-name patterns (lib/plan/name-pattern.ts) against V8's own ECMAScript engine: on thousands
 * of random patterns and names from a small alphabet, found-or-not is the same; patterns that make
 * a backtracking engine take exponential time finish in linear time; what the reader refuses is a
 * typed E_BAD_PLAN; patterns are lowercased as llama-quantize lowercases them.
 */
import { describe, expect, it } from 'vitest';
import { compileNamePattern } from '../../lib/plan/name-pattern.js';
import { Rng } from '../fuzz/fuzz-helpers.js';

/** A random pattern over the alphabet a, b, _, ., 0, 1 (what RegExp and our reader both read). */
function randomPattern(r: Rng, depth = 0): string {
  const atoms = ['a', 'b', '_', '0', '1', '.', '\\.', '\\d', '\\w', '\\s', '[ab]', '[^a]', '[a-b0]', '[.]', '\\x61', '[\\d_]'];
  const n = 1 + r.int(4);
  let out = '';
  for (let i = 0; i < n; i++) {
    const k = r.int(10);
    let atom: string;
    if (k < 6 || depth > 2) atom = r.pick(atoms);
    else if (k < 8) atom = `(${randomPattern(r, depth + 1)}|${randomPattern(r, depth + 1)})`;
    else if (k < 9) atom = `(?:${randomPattern(r, depth + 1)})`;
    else atom = r.pick(['^', '$', '\\b']);
    if (!['^', '$', '\\b'].includes(atom) && r.chance(0.4)) atom += r.pick(['*', '+', '?', '{2}', '{1,2}', '{0,}', '*?', '+?']);
    out += atom;
  }
  return out;
}

describe('tensor-name patterns', () => {
  it('find the same names as V8 RegExp on random patterns', () => {
    const r = new Rng(20261204);
    let found = 0;
    for (let i = 0; i < 2000; i++) {
      const p = randomPattern(r);
      const re = new RegExp(p);
      const ours = compileNamePattern(p);
      for (let j = 0; j < 8; j++) {
        const name = Array.from({ length: r.int(12) }, () => r.pick(['a', 'b', '_', '.', '0', '1', ' '])).join('');
        const want = re.test(name);
        if (want) found++;
        expect(ours.test(name), `/${p}/ on "${name}"`).toBe(want);
      }
    }
    // Both outcomes occur often enough for the comparison to mean something.
    expect(found).toBeGreaterThan(2500);
    expect(found).toBeLessThan(13500);
  });

  it('match real tensor names as llama-quantize does: substring search, anchors, lowercased pattern', () => {
    const m = (p: string, n: string): boolean => compileNamePattern(p).test(n);
    expect(m('attn_v', 'blk.3.attn_v.weight')).toBe(true);
    expect(m('^attn_v', 'blk.3.attn_v.weight')).toBe(false);
    expect(m('^blk\\.(1|3)\\.attn_v\\.weight$', 'blk.3.attn_v.weight')).toBe(true);
    expect(m('^blk\\.(1|3)\\.attn_v\\.weight$', 'blk.13.attn_v.weight')).toBe(false);
    expect(m('blk\\.1[0-9]\\.ffn_down', 'blk.12.ffn_down.weight')).toBe(true);
    expect(m('ATTN_V', 'blk.0.attn_v.weight')).toBe(true); // lowercased, as llama-quantize does
    expect(m('ATTN_V', 'blk.0.ATTN_V.weight')).toBe(false); // …but never the name
    expect(m('\\D', '123')).toBe(true); // \D became \d
    expect(m('\\x2e', 'a.b')).toBe(true);
  });

  it('run in linear time on patterns that make backtracking engines exponential', () => {
    const name = `${'a'.repeat(63)}!`;
    for (const p of ['(a*)*b', '(a|a)*b', '(a+)+$x', '((a*)*)*c', '(.*){1,30}b', '(a|aa)*$b']) {
      const t0 = performance.now();
      expect(compileNamePattern(p).test(name)).toBe(false);
      expect(performance.now() - t0, p).toBeLessThan(200);
    }
  });

  it('refuse what the reader does not read, as a typed error', () => {
    for (const p of ['(a)\\1', '(?=a)', '(?!a)', 'a]', 'a{', '}', '(a', 'a)', '*a', 'a**', '[]', '[a', 'a{2000}', '[[:alpha:]]', '\\u0100', '\\q', 'a\\', '[b-a]']) {
      expect(() => compileNamePattern(p, 'types.txt'), p).toThrow(expect.objectContaining({ code: 'E_BAD_PLAN', file: 'types.txt' }));
    }
    expect(() => compileNamePattern('(a{1000}){1000}')).toThrow(expect.objectContaining({ code: 'E_BAD_PLAN' }));
  });
});
