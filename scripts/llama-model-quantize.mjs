// llama.cpp's own quantizer, `llama_model_quantize` of node-llama-cpp's libllama through koffi:
// the stock mixes (Q4_K_M…) written by llama.cpp itself, without building its tools. No imatrix:
// the C API takes it as a C++ map, which koffi cannot build (use llama-quantize for that).
//   node scripts/llama-model-quantize.mjs SRC OUT FTYPE [THREADS]   prints {"seconds","bytes"} as JSON
// As a module: llamaModelQuantize(src, out, ftype, threads) runs it in this process.
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const libllama = join(root, 'node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v0.5.0.so');

/** llama.cpp's `llama_ftype` numbers of the stock mixes (include/llama.h). */
export const LLAMA_FTYPES = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q3_K_S: 11, Q3_K_M: 12, Q3_K_L: 13,
  Q4_K_S: 14, Q4_K_M: 15, Q5_K_S: 16, Q5_K_M: 17, Q6_K: 18, IQ2_XXS: 19, IQ2_XS: 20, Q2_K_S: 21, IQ3_XS: 22,
  IQ3_XXS: 23, IQ1_S: 24, IQ4_NL: 25, IQ3_S: 26, IQ3_M: 27, IQ2_S: 28, IQ2_M: 29, IQ4_XS: 30, IQ1_M: 31, BF16: 32,
};

/** Quantizes `src` to `out` as llama.cpp's mix `ftype` (a name of LLAMA_FTYPES or its number). */
export function llamaModelQuantize(src, out, ftype, threads = 1) {
  const code = typeof ftype === 'number' ? ftype : LLAMA_FTYPES[ftype];
  if (code === undefined) throw new Error(`unknown llama.cpp ftype ${ftype}`);
  const koffi = createRequire(import.meta.url)('koffi');
  const lib = koffi.load(libllama);
  // The struct as in the bundled include/llama.h.
  const Params = koffi.struct('llama_model_quantize_params', {
    nthread: 'int32_t', ftype: 'int', output_tensor_type: 'int', token_embedding_type: 'int',
    allow_requantize: 'bool', quantize_output_tensor: 'bool', only_copy: 'bool', pure: 'bool',
    keep_split: 'bool', dry_run: 'bool', imatrix: 'void *', kv_overrides: 'void *', tt_overrides: 'void *',
    prune_layers: 'void *', max_buf_size: 'size_t',
  });
  const defaults = lib.func('llama_model_quantize_default_params', Params, []);
  const quantize = lib.func('uint32_t llama_model_quantize(const char *, const char *, const llama_model_quantize_params *)');
  lib.func('void llama_backend_init(void)')();
  const p = defaults();
  p.nthread = threads;
  p.ftype = code;
  const t0 = performance.now();
  const rc = quantize(src, out, p);
  if (rc !== 0) throw new Error(`llama_model_quantize(${src}, ${ftype}) returned ${rc}`);
  return { seconds: (performance.now() - t0) / 1000, bytes: statSync(out).size };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [src, out, ftype, threads] = process.argv.slice(2);
  if (!src || !out || !ftype) {
    console.error('usage: node scripts/llama-model-quantize.mjs SRC OUT FTYPE [THREADS]');
    process.exit(2);
  }
  const r = llamaModelQuantize(src, out, /^\d+$/.test(ftype) ? Number(ftype) : ftype, threads ? Number(threads) : 1);
  process.stdout.write(`@@RESULT${JSON.stringify(r)}\n`);
}
