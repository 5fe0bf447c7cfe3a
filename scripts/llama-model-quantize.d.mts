/** Types of llama-model-quantize.mjs (llama.cpp's llama_model_quantize through koffi). */
export declare const LLAMA_FTYPES: Record<string, number>;
export declare function llamaModelQuantize(src: string, out: string, ftype: string | number, threads?: number): { seconds: number; bytes: number };
