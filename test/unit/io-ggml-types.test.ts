import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isLayerquantError } from '../../lib/errors.js';
import { GgmlType, ggmlTensorBytes, ggmlTypeInfo, ggmlTypes } from '../../lib/io/ggml-types.js';

const libggml = fileURLToPath(new URL('../../node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so', import.meta.url));

describe('ggml types', () => {
  it('knows the common layouts', () => {
    expect(ggmlTypeInfo(GgmlType.F32)).toEqual({ name: 'f32', blockSize: 1, typeSize: 4 });
    expect(ggmlTypeInfo(GgmlType.BF16)).toEqual({ name: 'bf16', blockSize: 1, typeSize: 2 });
    expect(ggmlTypeInfo(GgmlType.Q8_0)).toEqual({ name: 'q8_0', blockSize: 32, typeSize: 34 });
    expect(ggmlTypeInfo(GgmlType.Q4_K)).toEqual({ name: 'q4_K', blockSize: 256, typeSize: 144 });
    expect(ggmlTypeInfo(GgmlType.IQ2_XXS)).toEqual({ name: 'iq2_xxs', blockSize: 256, typeSize: 66 });
    expect(ggmlTypeInfo(4)).toBeUndefined(); // retired Q4_2
    expect(ggmlTypeInfo(31)).toBeUndefined(); // removed Q4_0_4_4
    expect(ggmlTypeInfo(-1)).toBeUndefined();
    expect(ggmlTypeInfo(1000)).toBeUndefined();
    for (const t of ggmlTypes()) expect(GgmlType[t]?.toLowerCase()).toBe(ggmlTypeInfo(t)!.name.toLowerCase());
  });

  it('computes tensor sizes and rejects bad shapes with typed errors', () => {
    expect(ggmlTensorBytes(GgmlType.F32, [64, 512])).toBe(131072);
    expect(ggmlTensorBytes(GgmlType.Q4_K, [4096, 11008])).toBe(16 * 144 * 11008);
    expect(ggmlTensorBytes(GgmlType.Q8_0, [64, 2, 3])).toBe(2 * 34 * 6);
    const err = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(isLayerquantError(err(() => ggmlTensorBytes(99, [32])), 'E_UNSUPPORTED')).toBe(true);
    const e = err(() => ggmlTensorBytes(GgmlType.Q4_K, [172, 3], { file: 'f.gguf', tensor: 'w' }));
    expect(isLayerquantError(e, 'E_SHAPE')).toBe(true);
    expect((e as Error).message).toMatch(/f\.gguf, tensor w: row length 172 is not a multiple of q4_K's block size 256/);
    expect(isLayerquantError(err(() => ggmlTensorBytes(GgmlType.F32, [0])), 'E_SHAPE')).toBe(true);
    expect(isLayerquantError(err(() => ggmlTensorBytes(GgmlType.F32, [])), 'E_SHAPE')).toBe(true);
    expect(isLayerquantError(err(() => ggmlTensorBytes(GgmlType.F32, [1.5])), 'E_SHAPE')).toBe(true);
    expect(isLayerquantError(err(() => ggmlTensorBytes(GgmlType.F32, [2 ** 30, 2 ** 30, 2 ** 10])), 'E_SHAPE')).toBe(true);
  });

  it.skipIf(!existsSync(libggml))('matches ggml_blck_size / ggml_type_size of node-llama-cpp\'s libggml-base.so', () => {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load(libggml);
    const blck = lib.func('int64_t ggml_blck_size(int)');
    const size = lib.func('size_t ggml_type_size(int)');
    const name = lib.func('const char* ggml_type_name(int)');
    for (const t of ggmlTypes()) {
      const info = ggmlTypeInfo(t)!;
      expect([t, Number(blck(t)), Number(size(t)), name(t)]).toEqual([t, info.blockSize, info.typeSize, info.name]);
    }
    // Every id ggml gives a real layout for below the first unknown one is in our table.
    for (let t = 0; t < 40; t++) {
      if (Number(size(t)) > 0) expect(ggmlTypeInfo(t), `type ${t}`).toBeDefined();
    }
  });
});
