/**
 * Allocation strategies: given units (blocks, or single tensors, plus the embeddings/output head
 * when the policy lets them move), the byte cost of each unit at each level, and a byte budget,
 * choose a level for every unit. All strategies share one interface so `compare` can swap them.
 *
 * - `paper`: every unit starts at the highest level; the least important units move, one by
 *   one, to the lowest level until the budget holds (arXiv 2406.17415's procedure). With more
 *   than two levels the same order is walked again one level down per pass.
 * - `reverse`, `random` (seeded): the same procedure in reverse-importance or shuffled order —
 *   the paper's baselines.
 * - `uniform`: every unit at the single highest level that fits.
 * - `greedy`: from the top, repeatedly take the step down that costs the least estimated error
 *   per byte saved until the budget holds, then spend what is left on the steps up that buy the
 *   most error per byte.
 * - `optimal`: a multiple-choice knapsack (minimise the summed error estimates, bytes ≤ budget)
 *   solved by dynamic programming over bytes. Exact when the byte grid is the gcd of all costs;
 *   for large budgets the grid is coarsened (costs rounded up, so the plan still fits) and the
 *   result is optimal on that grid.
 * - `prune`: every unit at the highest level; the least important blocks are dropped until the
 *   budget holds (the paper's comparison against layer pruning).
 * Units marked `rankLast` (the embeddings/output head under the default policy) come after every
 * block in the ordered strategies, whatever the order.
 */
import { LayerquantError } from '../errors.js';

/** Strategy names. */
export type StrategyName = 'paper' | 'greedy' | 'optimal' | 'uniform' | 'random' | 'reverse' | 'prune';

/** Every strategy name, in the order help lists them. */
export const STRATEGIES: readonly StrategyName[] = ['optimal', 'greedy', 'paper', 'uniform', 'random', 'reverse', 'prune'];

/** One unit to place. */
export interface SolveUnit {
  /** Identifier, for messages. */
  id: string;
  /** Importance, higher = more important (ordering strategies sort by it). */
  importance: number;
  /** Placed after every other unit by ordering strategies (embeddings/output head). */
  rankLast?: boolean;
  /** Whether `prune` may drop this unit (blocks yes, embeddings/output no). */
  prunable?: boolean;
  /** Bytes at each level, lowest level first. */
  costs: readonly number[];
  /** Estimated error at each level (greedy, optimal). */
  errors?: readonly number[];
}

/** A placement problem. */
export interface SolveProblem {
  units: readonly SolveUnit[];
  /** Bytes available to the units. */
  budget: number;
  /** Seed of `random` (default 1). */
  seed?: number;
  /**
   * Ordering strategies only (paper, reverse, random): ignore the budget and move exactly this
   * many units, in order, from the highest level to the lowest (the paper's experiment).
   */
  count?: number;
  /** Upper bound on DP states (units × grid cells) for `optimal` (default 4e7). */
  maxDpCells?: number;
}

/** A placement: one level index per unit, -1 = dropped (prune only). */
export interface SolveResult {
  choice: number[];
  /** Summed bytes of the placement. */
  bytes: number;
  /** Summed error estimate, when the units carry errors. */
  error?: number;
  /** Byte grid the DP used (optimal only). */
  grid?: number;
}

/** The interface every strategy implements. */
export interface Strategy {
  name: StrategyName;
  solve(problem: SolveProblem): SolveResult;
}

/** Deterministic 32-bit PRNG (mulberry32); returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of 0..n-1 with a seeded PRNG. */
export function seededPermutation(n: number, seed: number): number[] {
  const rnd = mulberry32(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

function levelsOf(units: readonly SolveUnit[]): number {
  const l = units[0]?.costs.length ?? 0;
  for (const u of units) {
    if (u.costs.length !== l) throw new LayerquantError('E_BAD_ARGUMENT', `Expected every unit to have ${l} level costs but ${u.id} has ${u.costs.length}`);
  }
  return l;
}

function total(units: readonly SolveUnit[], choice: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < units.length; i++) {
    const c = choice[i]!;
    if (c >= 0) s += units[i]!.costs[c]!;
  }
  return s;
}

function totalError(units: readonly SolveUnit[], choice: readonly number[]): number | undefined {
  if (!units.every((u) => u.errors)) return undefined;
  let s = 0;
  for (let i = 0; i < units.length; i++) {
    const c = choice[i]!;
    if (c >= 0) s += units[i]!.errors![c]!;
  }
  return s;
}

function result(units: readonly SolveUnit[], choice: number[], extra: Partial<SolveResult> = {}): SolveResult {
  const r: SolveResult = { choice, bytes: total(units, choice), ...extra };
  const e = totalError(units, choice);
  if (e !== undefined) r.error = e;
  return r;
}

/** Least bytes any placement (one level per unit) takes, and most. */
export function feasibleRange(units: readonly SolveUnit[]): { min: number; max: number } {
  let min = 0;
  let max = 0;
  for (const u of units) {
    min += Math.min(...u.costs);
    max += Math.max(...u.costs);
  }
  return { min, max };
}

function infeasible(problem: SolveProblem, what: string): never {
  const r = feasibleRange(problem.units);
  throw new LayerquantError(
    'E_BUDGET_IMPOSSIBLE',
    `${what}: budget ${problem.budget} bytes, plans range from ${r.min} to ${r.max} bytes`,
  );
}

/**
 * Units in the order ordering strategies lower them: blocks by `order`, then the `rankLast`
 * units by importance (least important first).
 */
function orderedUnits(units: readonly SolveUnit[], blockOrder: (idx: number[]) => number[]): number[] {
  const normal: number[] = [];
  const last: number[] = [];
  units.forEach((u, i) => (u.rankLast ? last : normal).push(i));
  last.sort((a, b) => units[a]!.importance - units[b]!.importance || a - b);
  return [...blockOrder(normal), ...last];
}

/** Ascending importance, ties by position (stable). */
function byImportance(units: readonly SolveUnit[]): (idx: number[]) => number[] {
  return (idx) => [...idx].sort((a, b) => units[a]!.importance - units[b]!.importance || a - b);
}

/**
 * The paper's procedure over an order: all units at the top level; walk the order moving each
 * unit one level down until the budget holds; with more than two levels, walk again.
 */
function orderedDescent(problem: SolveProblem, order: number[], name: string): SolveResult {
  const { units, budget } = problem;
  const nLevels = levelsOf(units);
  const choice = units.map(() => nLevels - 1);
  if (problem.count !== undefined) {
    if (!Number.isInteger(problem.count) || problem.count < 0 || problem.count > units.length) {
      throw new LayerquantError('E_BAD_ARGUMENT', `Expected a count of units to move between 0 and ${units.length} but received ${problem.count}`);
    }
    for (const i of order.slice(0, problem.count)) choice[i] = 0;
    return result(units, choice);
  }
  let bytes = total(units, choice);
  for (let pass = nLevels - 1; pass > 0 && bytes > budget; pass--) {
    for (const i of order) {
      if (bytes <= budget) break;
      const u = units[i]!;
      bytes += u.costs[pass - 1]! - u.costs[pass]!;
      choice[i] = pass - 1;
    }
  }
  if (bytes > budget) infeasible(problem, `No ${name} plan fits`);
  return result(units, choice);
}

const paper: Strategy = {
  name: 'paper',
  solve: (p) => orderedDescent(p, orderedUnits(p.units, byImportance(p.units)), 'paper'),
};

const reverse: Strategy = {
  name: 'reverse',
  solve: (p) => orderedDescent(p, orderedUnits(p.units, (idx) => byImportance(p.units)(idx).reverse()), 'reverse'),
};

const random: Strategy = {
  name: 'random',
  solve: (p) =>
    orderedDescent(
      p,
      orderedUnits(p.units, (idx) => seededPermutation(idx.length, p.seed ?? 1).map((k) => idx[k]!)),
      'random',
    ),
};

const uniform: Strategy = {
  name: 'uniform',
  solve(p) {
    const nLevels = levelsOf(p.units);
    for (let l = nLevels - 1; l >= 0; l--) {
      const choice = p.units.map(() => l);
      if (total(p.units, choice) <= p.budget) return result(p.units, choice);
    }
    infeasible(p, 'No uniform plan fits');
  },
};

const prune: Strategy = {
  name: 'prune',
  solve(p) {
    const nLevels = levelsOf(p.units);
    const choice = p.units.map(() => nLevels - 1);
    let bytes = total(p.units, choice);
    const order = byImportance(p.units)(p.units.map((_, i) => i).filter((i) => p.units[i]!.prunable));
    for (const i of order) {
      if (bytes <= p.budget) break;
      bytes -= p.units[i]!.costs[nLevels - 1]!;
      choice[i] = -1;
    }
    if (bytes > p.budget) infeasible(p, 'No pruned plan fits even with every block dropped');
    return result(p.units, choice);
  },
};

function requireErrors(p: SolveProblem, name: string): void {
  for (const u of p.units) {
    if (!u.errors || u.errors.length !== u.costs.length) {
      throw new LayerquantError('E_BAD_ARGUMENT', `The ${name} strategy needs an error estimate per level for every unit (${u.id} has none)`);
    }
  }
}

const greedy: Strategy = {
  name: 'greedy',
  solve(p) {
    requireErrors(p, 'greedy');
    const { units, budget } = p;
    const nLevels = levelsOf(units);
    const choice = units.map(() => nLevels - 1);
    let bytes = total(units, choice);
    // Down: cheapest error per byte saved, until the budget holds.
    while (bytes > budget) {
      let best = -1;
      let bestTo = -1;
      let bestRate = Infinity;
      for (let i = 0; i < units.length; i++) {
        const u = units[i]!;
        const c = choice[i]!;
        // Jump to the nearest lower level that saves bytes (fallback can make costs equal).
        for (let to = c - 1; to >= 0; to--) {
          const saved = u.costs[c]! - u.costs[to]!;
          if (saved <= 0) continue;
          const rate = (u.errors![to]! - u.errors![c]!) / saved;
          if (rate < bestRate || (rate === bestRate && best >= 0 && u.importance < units[best]!.importance)) {
            best = i;
            bestTo = to;
            bestRate = rate;
          }
          break;
        }
      }
      if (best < 0) infeasible(p, 'No greedy plan fits');
      bytes += units[best]!.costs[bestTo]! - units[best]!.costs[choice[best]!]!;
      choice[best] = bestTo;
    }
    // Up: spend the slack where it removes the most error per byte.
    for (;;) {
      let best = -1;
      let bestTo = -1;
      let bestRate = 0;
      for (let i = 0; i < units.length; i++) {
        const u = units[i]!;
        const c = choice[i]!;
        for (let to = c + 1; to < nLevels; to++) {
          const extra = u.costs[to]! - u.costs[c]!;
          if (bytes + extra > budget) continue;
          const gain = u.errors![c]! - u.errors![to]!;
          if (gain <= 0) continue;
          const rate = extra <= 0 ? Infinity : gain / extra;
          if (rate > bestRate) {
            best = i;
            bestTo = to;
            bestRate = rate;
          }
        }
      }
      if (best < 0) break;
      bytes += units[best]!.costs[bestTo]! - units[best]!.costs[choice[best]!]!;
      choice[best] = bestTo;
    }
    return result(units, choice);
  },
};

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

const optimal: Strategy = {
  name: 'optimal',
  solve(p) {
    requireErrors(p, 'optimal');
    const { units, budget } = p;
    const nLevels = levelsOf(units);
    const n = units.length;
    const range = feasibleRange(units);
    if (budget < range.min) infeasible(p, 'No plan fits');
    // Shift every unit by its cheapest level so the DP only spans the bytes that vary.
    const base = units.map((u) => Math.min(...u.costs));
    const slack = Math.floor(budget - range.min);
    let g = 0;
    for (let i = 0; i < n; i++) for (const c of units[i]!.costs) g = gcd(g, c - base[i]!);
    if (g === 0) g = 1;
    const maxCells = p.maxDpCells ?? 4e7;
    const span = Math.min(slack, range.max - range.min);
    if ((n + 1) * (Math.floor(span / g) + 1) > maxCells) g = Math.ceil(span / Math.max(1, Math.floor(maxCells / (n + 1) - 1)));
    const cap = Math.floor(span / g);
    const w = units.map((u, i) => u.costs.map((c) => Math.ceil((c - base[i]!) / g)));
    const width = cap + 1;
    let dp = new Float64Array(width).fill(Infinity);
    let next = new Float64Array(width);
    dp[0] = 0;
    const pick = new Uint8Array(n * width);
    for (let i = 0; i < n; i++) {
      next.fill(Infinity);
      const wi = w[i]!;
      const ei = units[i]!.errors!;
      for (let b = 0; b < width; b++) {
        const cur = dp[b]!;
        if (cur === Infinity) continue;
        for (let l = 0; l < nLevels; l++) {
          const nb = b + wi[l]!;
          if (nb > cap) continue;
          const v = cur + ei[l]!;
          const old = next[nb]!;
          // Ties prefer the higher level (more bytes inside the budget).
          if (v < old || (v === old && l > pick[i * width + nb]!)) {
            next[nb] = v;
            pick[i * width + nb] = l;
          }
        }
      }
      [dp, next] = [next, dp];
    }
    let bestB = -1;
    for (let b = 0; b < width; b++) {
      if (dp[b] === Infinity) continue;
      if (bestB < 0 || dp[b]! < dp[bestB]! || (dp[b] === dp[bestB] && b > bestB)) bestB = b;
    }
    if (bestB < 0) infeasible(p, 'No plan fits');
    const choice = new Array<number>(n).fill(0);
    let b = bestB;
    for (let i = n - 1; i >= 0; i--) {
      const l = pick[i * width + b]!;
      choice[i] = l;
      b -= w[i]![l]!;
    }
    return result(units, choice, { grid: g });
  },
};

const ALL: Record<StrategyName, Strategy> = { paper, greedy, optimal, uniform, random, reverse, prune };

/** The strategy called `name`; typed error for unknown names. */
export function strategy(name: string): Strategy {
  const s = ALL[name as StrategyName];
  if (!s) throw new LayerquantError('E_BAD_ARGUMENT', `Expected a strategy (${STRATEGIES.join(', ')}) but received "${name}"`);
  return s;
}

/** Solves `problem` with the strategy called `name`. */
export function solve(name: StrategyName | string, problem: SolveProblem): SolveResult {
  if (!(problem.budget >= 0)) throw new LayerquantError('E_BAD_ARGUMENT', `Expected a budget of 0 bytes or more but received ${problem.budget}`);
  return strategy(name).solve(problem);
}
