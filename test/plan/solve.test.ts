import { describe, expect, it } from 'vitest';
import { mulberry32, seededPermutation, solve, STRATEGIES, type SolveUnit } from '../../lib/plan/solve.js';

// Three blocks, two levels: low costs 10, high costs 20. Importance: b0 2, b1 0, b2 1.
const three = (): SolveUnit[] => [
  { id: 'b0', importance: 2, prunable: true, costs: [10, 20], errors: [9, 1] },
  { id: 'b1', importance: 0, prunable: true, costs: [10, 20], errors: [3, 1] },
  { id: 'b2', importance: 1, prunable: true, costs: [10, 20], errors: [6, 1] },
];

function brute(units: SolveUnit[], budget: number): number {
  let best = Infinity;
  const L = units[0]!.costs.length;
  const rec = (i: number, bytes: number, err: number): void => {
    if (bytes > budget) return;
    if (i === units.length) {
      best = Math.min(best, err);
      return;
    }
    for (let l = 0; l < L; l++) rec(i + 1, bytes + units[i]!.costs[l]!, err + units[i]!.errors![l]!);
  };
  rec(0, 0, 0);
  return best;
}

describe('strategies', () => {
  it('paper moves the least important blocks to the low level until the budget holds', () => {
    expect(solve('paper', { units: three(), budget: 60 }).choice).toEqual([1, 1, 1]);
    expect(solve('paper', { units: three(), budget: 55 }).choice).toEqual([1, 0, 1]);
    expect(solve('paper', { units: three(), budget: 45 }).choice).toEqual([1, 0, 0]);
    expect(solve('paper', { units: three(), budget: 30 })).toMatchObject({ choice: [0, 0, 0], bytes: 30 });
    expect(() => solve('paper', { units: three(), budget: 29 })).toThrow(expect.objectContaining({ code: 'E_BUDGET_IMPOSSIBLE' }));
  });
  it('reverse moves the most important first', () => {
    expect(solve('reverse', { units: three(), budget: 55 }).choice).toEqual([0, 1, 1]);
    expect(solve('reverse', { units: three(), budget: 45 }).choice).toEqual([0, 1, 0]);
  });
  it('rankLast units are lowered after every block, in both orders', () => {
    const u = [...three(), { id: 'embd', importance: 0, rankLast: true, costs: [10, 20], errors: [2, 1] }];
    expect(solve('paper', { units: u, budget: 50 }).choice).toEqual([0, 0, 0, 1]);
    expect(solve('reverse', { units: u, budget: 50 }).choice).toEqual([0, 0, 0, 1]);
    expect(solve('paper', { units: u, budget: 60 }).choice).toEqual([1, 0, 0, 1]);
    expect(solve('paper', { units: u, budget: 40 }).choice).toEqual([0, 0, 0, 0]);
  });
  it('many levels: the ordered descent walks again one level down', () => {
    const u: SolveUnit[] = [
      { id: 'a', importance: 1, costs: [1, 2, 4] },
      { id: 'b', importance: 0, costs: [1, 2, 4] },
    ];
    expect(solve('paper', { units: u, budget: 6 }).choice).toEqual([2, 1]);
    expect(solve('paper', { units: u, budget: 4 }).choice).toEqual([1, 1]);
    expect(solve('paper', { units: u, budget: 3 }).choice).toEqual([1, 0]);
  });
  it('random is reproducible for a seed and differs across seeds', () => {
    expect(seededPermutation(10, 7)).toEqual(seededPermutation(10, 7));
    expect(seededPermutation(10, 7).slice().sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    const perms = new Set([1, 2, 3, 4, 5].map((s) => seededPermutation(10, s).join(',')));
    expect(perms.size).toBeGreaterThan(1);
    const r = mulberry32(42);
    const xs = Array.from({ length: 1000 }, r);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const u = Array.from({ length: 8 }, (_, i) => ({ id: `b${i}`, importance: i, costs: [1, 2] }));
    const a = solve('random', { units: u, budget: 12, seed: 3 }).choice;
    expect(solve('random', { units: u, budget: 12, seed: 3 }).choice).toEqual(a);
    expect(a.filter((c) => c === 0)).toHaveLength(4);
  });
  it('uniform takes the highest single level that fits', () => {
    expect(solve('uniform', { units: three(), budget: 59 }).choice).toEqual([0, 0, 0]);
    expect(solve('uniform', { units: three(), budget: 60 }).choice).toEqual([1, 1, 1]);
  });
  it('prune drops the least important blocks, never rankLast ones', () => {
    const u = [...three(), { id: 'out', importance: -5, rankLast: true, costs: [10, 20] }];
    expect(solve('prune', { units: u, budget: 60 }).choice).toEqual([1, -1, 1, 1]);
    expect(solve('prune', { units: u, budget: 20 }).choice).toEqual([-1, -1, -1, 1]);
    expect(() => solve('prune', { units: u, budget: 19 })).toThrow(expect.objectContaining({ code: 'E_BUDGET_IMPOSSIBLE' }));
  });
  it('greedy lowers by error per byte, then refills the slack', () => {
    // Budget 50: one block must go low; b1 loses least (2), so b1.
    expect(solve('greedy', { units: three(), budget: 50 })).toMatchObject({ choice: [1, 0, 1], error: 5 });
    // Refill: from the top, with levels 1/2/4 bytes, errors 8/2/0 and 4/1/0.
    const u: SolveUnit[] = [
      { id: 'a', importance: 0, costs: [1, 2, 4], errors: [8, 2, 0] },
      { id: 'b', importance: 0, costs: [1, 2, 4], errors: [4, 1, 0] },
    ];
    expect(solve('greedy', { units: u, budget: 5 })).toMatchObject({ choice: [1, 1], error: 3 });
    expect(solve('greedy', { units: u, budget: 6 }).choice).toEqual([2, 1]);
  });
  it('greedy and optimal need error estimates', () => {
    const u = three().map(({ errors: _e, ...rest }) => rest);
    expect(() => solve('greedy', { units: u, budget: 50 })).toThrow(/error estimate/);
    expect(() => solve('optimal', { units: u, budget: 50 })).toThrow(/error estimate/);
  });
  it('optimal equals brute force on random small instances', () => {
    const rnd = mulberry32(1234);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(rnd() * 6);
      const L = 1 + Math.floor(rnd() * 4);
      const units: SolveUnit[] = Array.from({ length: n }, (_, i) => {
        const costs: number[] = [];
        const errors: number[] = [];
        let c = 1 + Math.floor(rnd() * 20);
        let e = 50 + rnd() * 100;
        for (let l = 0; l < L; l++) {
          costs.push(c);
          errors.push(e);
          c += Math.floor(rnd() * 30);
          e *= rnd();
        }
        return { id: `u${i}`, importance: rnd(), costs, errors };
      });
      const min = units.reduce((s, u) => s + u.costs[0]!, 0);
      const max = units.reduce((s, u) => s + u.costs[L - 1]!, 0);
      const budget = min + Math.floor(rnd() * (max - min + 10));
      const r = solve('optimal', { units, budget });
      expect(r.bytes).toBeLessThanOrEqual(budget);
      expect(r.error).toBeCloseTo(brute(units, budget), 9);
      expect(r.error!).toBeLessThanOrEqual(solve('greedy', { units, budget }).error! + 1e-9);
    }
  });
  it('optimal on a coarse grid still fits the budget', () => {
    const rnd = mulberry32(9);
    const units: SolveUnit[] = Array.from({ length: 50 }, (_, i) => ({
      id: `u${i}`,
      importance: 0,
      costs: [1000 + i, 2003 + 7 * i, 4001 + 13 * i],
      errors: [10 * rnd() + 5, 2 * rnd() + 1, rnd()],
    }));
    const r = solve('optimal', { units, budget: 130_000, maxDpCells: 5000 });
    expect(r.grid).toBeGreaterThan(1);
    expect(r.bytes).toBeLessThanOrEqual(130_000);
    const exact = solve('optimal', { units, budget: 130_000 });
    expect(exact.grid).toBe(1);
    expect(exact.error!).toBeLessThanOrEqual(r.error! + 1e-12);
  });
  it('every strategy is reachable by name and unknown names are typed errors', () => {
    for (const s of STRATEGIES) expect(() => solve(s, { units: three(), budget: 60 })).not.toThrow();
    expect(() => solve('nope', { units: three(), budget: 60 })).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
  });
});
