/** Shared pieces of the fuzz tests: a seeded PRNG, the seed and iteration settings, reporting. */
import { randomBytes } from 'node:crypto';
import { LayerquantError, type ErrorCode } from '../../lib/errors.js';

/** sfc32: small, fast, good enough for fuzzing; deterministic from a 32-bit seed. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 0x100000000 ? Math.floor((this.u32() / 0x100000000) * n) : Math.floor((this.u32() * 0x100000000 + this.u32()) / 2 ** 64 * n);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

/** Settings from the environment: LQ_FUZZ_SEED, LQ_FUZZ_ITERATIONS, LQ_FUZZ_ONLY (one iteration). */
export function fuzzSettings(defaultIterations: number): { seed: number; iterations: number; only: number | undefined } {
  const env = process.env;
  const seed = env.LQ_FUZZ_SEED !== undefined ? Number(env.LQ_FUZZ_SEED) >>> 0 : randomBytes(4).readUInt32LE();
  const iterations = env.LQ_FUZZ_ITERATIONS !== undefined ? Number(env.LQ_FUZZ_ITERATIONS) : defaultIterations;
  const only = env.LQ_FUZZ_ONLY !== undefined ? Number(env.LQ_FUZZ_ONLY) : undefined;
  return { seed, iterations, only };
}

/** The PRNG of iteration `i` under `seed`: iterations are independent, so one can be replayed alone. */
export function iterationRng(seed: number, i: number): Rng {
  return new Rng((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
}

/** Classifies an exception: undefined when it is an allowed typed error, else a description. */
export function unexpectedError(err: unknown, allowed: readonly ErrorCode[], file: string): string | undefined {
  if (!(err instanceof LayerquantError)) return `not a LayerquantError: ${(err as Error)?.stack ?? String(err)}`;
  if (!allowed.includes(err.code)) return `unexpected code ${err.code}: ${err.message}`;
  if (err.file !== file || !err.message.includes(file)) return `error does not name the file: ${err.message}`;
  return undefined;
}

/** A failure report with everything needed to reproduce it. */
export function reproduce(format: string, seed: number, i: number, mutation: string[], problem: string): string {
  return (
    `${format} fuzz failure at iteration ${i} (seed ${seed}): ${problem}\n  mutation: ${mutation.join('; ')}\n` +
    `  reproduce: LQ_FUZZ_SEED=${seed} LQ_FUZZ_ONLY=${i} npx vitest run test/fuzz/`
  );
}
