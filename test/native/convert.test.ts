import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { convertTensor, findNonFinite } from '../../lib/tensor/convert.js';

/** The plain formats, spelled as in safetensors (format names are case-insensitive). */
type FloatDtype = 'F32' | 'F16' | 'BF16';
import { isLayerquantError } from '../../lib/errors.js';
import type { IsaName } from '../../lib/native-types.js';

// ---------- an independent JS reference (exact double arithmetic, no bit tricks) ----------

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
const bitsToF32 = (b: number): number => ((u32buf[0] = b >>> 0), f32buf[0]!);
const f32ToBits = (v: number): number => ((f32buf[0] = v), u32buf[0]!);

function roundHalfEven(q: number): number {
  const f = Math.floor(q);
  const d = q - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Binary exponent of a positive finite float32, from its value (denormals give < -126). */
function exponentOf(v: number): number {
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e -= 1;
  if (2 ** (e + 1) <= v) e += 1;
  return e;
}

/** f32 bits → f16 bits: round to nearest even; NaN → quiet NaN keeping the top payload bits. */
function jsF32ToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const ax = bits & 0x7fffffff;
  if (ax > 0x7f800000) return sign | 0x7e00 | ((ax >>> 13) & 0x3ff);
  if (ax === 0x7f800000) return sign | 0x7c00;
  const v = bitsToF32(ax);
  if (v === 0) return sign;
  const e = exponentOf(v);
  const quantum = e < -14 ? 2 ** -24 : 2 ** (e - 10);
  const w = roundHalfEven(v / quantum) * quantum;
  if (w >= 65536) return sign | 0x7c00;
  if (w < 2 ** -14) return sign | (w / 2 ** -24);
  const e2 = exponentOf(w);
  return sign | ((e2 + 15) << 10) | (w / 2 ** e2 * 1024 - 1024);
}

/** f32 bits → bf16 bits: round to nearest even; NaN → quiet NaN. */
function jsF32ToBf16(bits: number): number {
  const ax = bits & 0x7fffffff;
  if (ax > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  const v = bitsToF32(bits);
  if (v === 0 || !Number.isFinite(v)) return bits >>> 16;
  const e = Math.max(exponentOf(Math.abs(v)), -126);
  const quantum = 2 ** (e - 7);
  const w = roundHalfEven(Math.abs(v) / quantum) * quantum * Math.sign(v);
  return f32ToBits(Math.fround(w)) >>> 16; // w is exact in bf16 (or ±2^128 → ±Inf)
}

/** f16 bits → f32 bits (exact); NaN keeps its payload. */
function jsF16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0x1f) return man ? ((h & 0x8000) << 16) | 0x7f800000 | (man << 13) : f32ToBits(sign * Infinity);
  const v = exp === 0 ? man * 2 ** -24 : (1 + man / 1024) * 2 ** (exp - 15);
  return f32ToBits(Math.fround(sign * v)) >>> 0 | (sign < 0 && v === 0 ? 0x80000000 : 0);
}

const jsBf16ToF32 = (h: number): number => (h << 16) >>> 0;

/** Reference conversion of an element's bits between dtypes. */
function jsConvert(bits: number, from: FloatDtype, to: FloatDtype): number {
  if (from === to) return bits;
  const f32 = from === 'F32' ? bits >>> 0 : from === 'F16' ? jsF16ToF32(bits) : jsBf16ToF32(bits);
  if (to === 'F32') return f32 >>> 0;
  return to === 'F16' ? jsF32ToF16(f32) : jsF32ToBf16(f32);
}

// ---------- data ----------

const dtypes: FloatDtype[] = ['F32', 'F16', 'BF16'];
const size = (t: FloatDtype): number => (t === 'F32' ? 4 : 2);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32Specials = [
  0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000,
  0x7fc00000, 0xffc00000, 0x7f800001, 0x7fbfffff, 0x7fffffff, f32ToBits(65504), f32ToBits(65520), 0x477fefff, 0x477ff000,
  f32ToBits(-65520), f32ToBits(2 ** -24), f32ToBits(2 ** -25), f32ToBits(3 * 2 ** -25), f32ToBits(2 ** -14), 0x38800000,
  0x387fffff, 0x33000000, 0x33000001, f32ToBits(1 + 2 ** -11), f32ToBits(1 + 3 * 2 ** -11), f32ToBits(1 + 2 ** -8), 0x3f808000,
  0x3f818000, 0x00008000, 0x00018000, 0x7f7f8000,
];
const f16Specials = [0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7c01, 0x7dff, 0x7e00, 0xffff];
const bf16Specials = [0x0000, 0x8000, 0x0001, 0x007f, 0x0080, 0x7f7f, 0xff7f, 0x7f80, 0xff80, 0x7f81, 0x7fc0, 0xffff];

/** n random elements of `t` as bits: mostly ordinary values, about 1 in 8 a special. */
function randomBits(t: FloatDtype, n: number, seed: number): number[] {
  const r = rng(seed);
  const specials = t === 'F32' ? f32Specials : t === 'F16' ? f16Specials : bf16Specials;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.125) out.push(specials[Math.floor(r() * specials.length)]!);
    else if (t === 'F32') {
      // Any magnitude from 2^-30 to 2^20, with random low bits (exercises rounding), or raw bits.
      out.push(u < 0.3 ? Math.floor(r() * 2 ** 32) >>> 0 : f32ToBits((r() < 0.5 ? -1 : 1) * 2 ** (r() * 50 - 30) * (1 + r())));
    } else out.push(Math.floor(r() * 65536));
  }
  return out;
}

/** Bytes of `bits` as dtype t, starting `offset` bytes into a fresh buffer (unaligned views). */
function toBytes(t: FloatDtype, bits: number[], offset = 0): Uint8Array {
  const bytes = new Uint8Array(offset + bits.length * size(t)).subarray(offset);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  bits.forEach((b, i) => (t === 'F32' ? dv.setUint32(4 * i, b >>> 0, true) : dv.setUint16(2 * i, b, true)));
  return bytes;
}

function fromBytes(t: FloatDtype, bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / size(t);
  return Array.from({ length: n }, (_, i) => (t === 'F32' ? dv.getUint32(4 * i, true) : dv.getUint16(2 * i, true)));
}

async function run(bits: number[], from: FloatDtype, to: FloatDtype, opts: { threads?: number; offset?: number } = {}): Promise<Uint8Array> {
  const src = toBytes(from, bits, opts.offset ?? 0);
  const dst = new Uint8Array((opts.offset ?? 0) + bits.length * size(to)).subarray(opts.offset ?? 0);
  await convertTensor(src, from, dst, to, { threads: opts.threads ?? 1 });
  return dst;
}

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

// ---------- tests ----------

const features = native().cpuFeatures();
const initialIsa = features.active;
afterAll(() => native().setIsa(initialIsa));

describe('convertTensor: hand-computed values', () => {
  const cases: [number, number, number][] = [
    // f32 bits, f16 bits, bf16 bits
    [f32ToBits(1), 0x3c00, 0x3f80],
    [f32ToBits(-2), 0xc000, 0xc000],
    [0x80000000, 0x8000, 0x8000],
    [f32ToBits(65504), 0x7bff, 0x477f + 1], // 65504 = 0x477fe000 → bf16 rounds up to 0x4780
    [0x477fefff, 0x7bff, 0x4780],
    [f32ToBits(65520), 0x7c00, 0x4780],
    [f32ToBits(-65520), 0xfc00, 0xc780],
    [f32ToBits(2 ** -24), 0x0001, 0x3380],
    [f32ToBits(2 ** -25), 0x0000, 0x3300], // tie between 0 and the smallest subnormal: even (0)
    [f32ToBits(3 * 2 ** -25), 0x0002, 0x33c0], // 1.5 quanta: tie, even (2)
    [f32ToBits(2 ** -14), 0x0400, 0x3880],
    [f32ToBits(1 + 2 ** -11), 0x3c00, 0x3f80], // tie: stays on the even mantissa
    [f32ToBits(1 + 3 * 2 ** -11), 0x3c02, 0x3f80],
    [f32ToBits(1 + 2 ** -8), 0x3c04, 0x3f80], // bf16 tie → even
    [f32ToBits(1 + 3 * 2 ** -8), 0x3c0c, 0x3f82], // bf16 tie → even (up)
    [0x7f7fffff, 0x7c00, 0x7f80], // max f32: Inf in both
    [0x00000001, 0x0000, 0x0000],
    [0x00018000, 0x0000, 0x0002],
    [0x7f800000, 0x7c00, 0x7f80],
    [0xff800000, 0xfc00, 0xff80],
    [0x7fc00000, 0x7e00, 0x7fc0],
    [0x7f800001, 0x7e00, 0x7fc0], // signalling NaN comes out quiet
  ];
  for (const isa of features.available) {
    it(`F32 → F16/BF16 on ${isa}`, async () => {
      native().setIsa(isa);
      const f16 = fromBytes('F16', await run(cases.map((c) => c[0]), 'F32', 'F16'));
      const bf16 = fromBytes('BF16', await run(cases.map((c) => c[0]), 'F32', 'BF16'));
      cases.forEach(([x, h, b], i) => {
        expect(hex(f16[i]!), `f16 of ${hex(x)}`).toBe(hex(h));
        expect(hex(bf16[i]!), `bf16 of ${hex(x)}`).toBe(hex(b));
      });
    });
  }
  it('F16/BF16 → F32 on known values', async () => {
    native().setIsa('scalar');
    const f = fromBytes('F32', await run([0x0001, 0x7bff, 0x3c00, 0x8000, 0x7c00, 0x7c01, 0x03ff], 'F16', 'F32'));
    expect(f.map(hex)).toEqual(['0x33800000', '0x477fe000', '0x3f800000', '0x80000000', '0x7f800000', '0x7f802000', '0x387fc000'].map((s) => s));
    const g = fromBytes('F32', await run([0x3f80, 0xff81, 0x0001], 'BF16', 'F32'));
    expect(g.map(hex)).toEqual(['0x3f800000', '0xff810000', '0x10000']);
    native().setIsa(initialIsa);
  });
});

describe('convertTensor: against the independent JS reference', () => {
  for (const from of dtypes)
    for (const to of dtypes) {
      it(`${from} → ${to}, every pattern class, scalar`, async () => {
        native().setIsa('scalar');
        const bits = from === 'F32' ? [...f32Specials, ...randomBits('F32', 20000, 7)] : Array.from({ length: 65536 }, (_, i) => i);
        const out = fromBytes(to, await run(bits, from, to, { threads: 2 }));
        let bad = 0;
        const first: string[] = [];
        bits.forEach((b, i) => {
          const want = jsConvert(b, from, to) >>> 0;
          if (out[i]! >>> 0 !== want) {
            bad++;
            if (first.length < 5) first.push(`${hex(b)} → ${hex(out[i]!)} (want ${hex(want)})`);
          }
        });
        expect(first, `${bad} mismatches`).toEqual([]);
        native().setIsa(initialIsa);
      });
    }
});

describe('convertTensor: every ISA variant equals the scalar reference bit for bit', () => {
  const lengths = [1, 3, 7, 17, 33, 67, 129, 1000, 65536 + 67];
  for (const isa of features.available.filter((i): i is IsaName => i !== 'scalar')) {
    for (const from of dtypes)
      for (const to of dtypes) {
        it(`${isa}: ${from} → ${to}`, async () => {
          for (const [k, n] of lengths.entries()) {
            const bits = randomBits(from, n, 1000 + k * 31 + from.length * 7 + to.length);
            const offset = k % 3; // unaligned views too
            native().setIsa('scalar');
            const want = await run(bits, from, to, { offset });
            native().setIsa(isa);
            const got = await run(bits, from, to, { offset, threads: 2 });
            native().setIsa(initialIsa);
            if (Buffer.compare(got, want) !== 0) {
              const g = fromBytes(to, got), w = fromBytes(to, want);
              const i = g.findIndex((v, j) => v !== w[j]);
              expect.fail(`n=${n}: element ${i}: input ${hex(bits[i]!)} gives ${hex(g[i]!)}, reference ${hex(w[i]!)}`);
            }
          }
        });
      }
  }
});

describe('findNonFinite', () => {
  const nonFinite: Record<FloatDtype, number[]> = {
    F32: [0x7f800000, 0xff800000, 0x7fc00000, 0xff800001],
    F16: [0x7c00, 0xfc00, 0x7e00, 0xfc01],
    BF16: [0x7f80, 0xff80, 0x7fc0, 0xff81],
  };
  const finite: Record<FloatDtype, number[]> = {
    F32: [0, 0x80000000, 0x7f7fffff, 0x00000001, 0x3f800000],
    F16: [0, 0x8000, 0x7bff, 0x0001, 0x3c00],
    BF16: [0, 0x8000, 0x7f7f, 0x0001, 0x3f80],
  };
  for (const isa of features.available)
    for (const t of dtypes) {
      it(`${isa}: ${t} finds the first NaN/Inf at any position`, async () => {
        native().setIsa(isa);
        const r = rng(t.length * 13 + isa.length);
        for (const n of [1, 3, 7, 17, 33, 67, 129, 200_000]) {
          const bits = Array.from({ length: n }, () => finite[t][Math.floor(r() * finite[t].length)]!);
          expect(await findNonFinite(toBytes(t, bits, n % 2), t)).toBe(-1);
          for (const pos of [0, n - 1, Math.floor(n / 2), Math.floor(r() * n)]) {
            const b = bits.slice();
            b[pos] = nonFinite[t][Math.floor(r() * 4)]!;
            if (pos + 5 < n) b[pos + 5] = nonFinite[t][0]!; // a later one must not win
            expect(await findNonFinite(toBytes(t, b, 1), t, { threads: 2 }), `n=${n} pos=${pos}`).toBe(pos);
          }
        }
        native().setIsa(initialIsa);
      });
    }
});

describe('convertTensor: async behaviour', () => {
  it('keeps the event loop responsive during a large conversion', async () => {
    native().setIsa('scalar');
    const n = 24 << 20;
    const src = new Uint8Array(n * 4);
    const dst = new Uint8Array(n * 2);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    let done = false;
    const t0 = performance.now();
    const p = convertTensor(src, 'F32', dst, 'F16', { threads: 1 }).then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false); // not resolved synchronously: the work is off the JS thread
    await p;
    const ms = performance.now() - t0;
    clearInterval(timer);
    native().setIsa(initialIsa);
    expect(ticks, `${ticks} ticks in ${ms.toFixed(0)} ms`).toBeGreaterThanOrEqual(ms > 20 ? 2 : 0);
  });

  it('runs several jobs concurrently with correct results', async () => {
    const jobs = Array.from({ length: 8 }, (_, k) => {
      const from = dtypes[k % 3]!, to = dtypes[(k + 1) % 3]!;
      const bits = randomBits(from, 50_000 + k * 1001, 77 + k);
      return { from, to, bits, out: run(bits, from, to, { threads: 1 + (k % 3) }) };
    });
    for (const j of jobs) {
      const out = fromBytes(j.to, await j.out);
      const bad = out.findIndex((v, i) => v >>> 0 !== jsConvert(j.bits[i]!, j.from, j.to) >>> 0);
      expect(bad, `${j.from} → ${j.to}`).toBe(-1);
    }
  });

  it('rejects with E_ABORTED when aborted before or during the job', async () => {
    const src = new Uint8Array((16 << 20) * 4);
    const dst = new Uint8Array((16 << 20) * 2);
    const pre = new AbortController();
    pre.abort();
    await expect(convertTensor(src, 'F32', dst, 'F16', { signal: pre.signal, name: 'w' })).rejects.toMatchObject({ code: 'E_ABORTED' });
    const during = new AbortController();
    const p = convertTensor(src, 'F32', dst, 'F16', { signal: during.signal, threads: 1 });
    during.abort();
    await expect(p).rejects.toMatchObject({ code: 'E_ABORTED' });
    const scan = new AbortController();
    const q = findNonFinite(src, 'F32', { signal: scan.signal, threads: 1 });
    scan.abort();
    await expect(q).rejects.toMatchObject({ code: 'E_ABORTED' });
    // A signal that never fires changes nothing.
    await convertTensor(src.subarray(0, 400), 'F32', dst.subarray(0, 200), 'F16', { signal: new AbortController().signal });
  });
});

describe('convertTensor: validation', () => {
  const expectCode = async (p: Promise<unknown>, code: string, text: RegExp): Promise<void> => {
    try {
      await p;
      expect.unreachable();
    } catch (err) {
      expect(isLayerquantError(err), String(err)).toBe(true);
      expect((err as { code: string }).code).toBe(code);
      expect((err as Error).message).toMatch(text);
    }
  };
  it('names the tensor and says what was expected', async () => {
    const a = new Uint8Array(16);
    await expectCode(convertTensor(a, 'Q4_0' as FloatDtype, new Uint8Array(8), 'F16', { name: 'blk.0.attn_q.weight' }), 'E_UNSUPPORTED', /blk\.0\.attn_q\.weight.*f32, f16 or bf16/);
    await expectCode(convertTensor(a, 'F32', new Uint8Array(7), 'F16', { name: 'x' }), 'E_SHAPE', /tensor x.*Expected 8 bytes.*received 7/);
    await expectCode(convertTensor(a.subarray(0, 3), 'F16', new Uint8Array(3), 'F16'), 'E_SHAPE', /multiple of 2/);
    await expectCode(convertTensor(a, 'F16', a.subarray(8), 'BF16'), 'E_SHAPE', /16 bytes/);
    await expectCode(convertTensor(a, 'F16', a, 'BF16'), 'E_BAD_ARGUMENT', /overlap/);
    await expectCode(convertTensor(a, 'F32', new Uint8Array(8), 'F16', { threads: -1 }), 'E_BAD_ARGUMENT', /threads/);
    await expectCode(convertTensor([1, 2] as unknown as Uint8Array, 'F32', new Uint8Array(8), 'F16'), 'E_BAD_ARGUMENT', /Uint8Array.*Array/);
    await expectCode(findNonFinite(a.subarray(0, 3), 'BF16', { name: 'y' }), 'E_SHAPE', /tensor y/);
  });
  it('the native side checks sizes again', async () => {
    expect(() => native().convert(new Uint8Array(8), 'f32', new Uint8Array(3), 'f16', { threads: 1 })).toThrow(/destination of 4 bytes/);
    expect(() => native().convert(new Uint8Array(8), 'q7_Z', new Uint8Array(4), 'f16', { threads: 1 })).toThrow(/source format: unknown/);
    expect(() => native().convert(new Uint8Array(8), 'q8_0', new Uint8Array(4), 'f16')).toThrow(/expected f32, f16 or bf16/);
  });
  it('empty tensors are fine', async () => {
    await convertTensor(new Uint8Array(0), 'F32', new Uint8Array(0), 'BF16');
    expect(await findNonFinite(new Uint8Array(0), 'F16')).toBe(-1);
  });
});
