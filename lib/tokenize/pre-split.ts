/**
 * What a GGUF's `tokenizer.ggml.pre` means for a byte-level BPE vocabulary (`tokenizer.ggml.model =
 * "gpt2"`), as llama.cpp's src/llama-vocab.cpp reads it: the regexes that split text before BPE
 * (applied in turn, each keeping the unmatched stretches as pieces: HF's `Split` with
 * `Isolated`), whether whole pieces found in the vocabulary skip the merges (`ignore_merges`), and
 * whether BOS is added when the file has no `tokenizer.ggml.add_bos_token`.
 *
 * Only pre-tokenizers whose regexes the HF tokenizer library reproduces, and which the tests check
 * against llama.cpp's test vectors, are listed; any other name is refused by the caller.
 */

/** How one pre-tokenizer splits text. */
export interface PreSplit {
  /** Regexes in HF tokenizer.json (Oniguruma) syntax, applied in order. */
  regexes: string[];
  /** A piece that is itself a token is emitted whole (llama.cpp's ignore_merges). */
  ignoreMerges: boolean;
  /** llama.cpp adds BOS when the GGUF does not say (`add_bos` default for this pre). */
  addBos: boolean;
}

const CONTRACTIONS_CI = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3 = `${CONTRACTIONS_CI}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2 = `${CONTRACTIONS_CI}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN35 = `${CONTRACTIONS_CI}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

const groups: Record<string, PreSplit & { names: string[] }> = {
  llama3: {
    names: ['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'],
    regexes: [LLAMA3], ignoreMerges: true, addBos: true,
  },
  // Same split as llama3, without ignore_merges or a default BOS.
  llama3Split: { names: ['dbrx', 'smaug-bpe', 'chatglm-bpe', 'glm4'], regexes: [LLAMA3], ignoreMerges: false, addBos: false },
  qwen2: {
    names: ['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'megrez', 'stablelm2', 'hunyuan', 'solar-open'],
    regexes: [QWEN2], ignoreMerges: false, addBos: false,
  },
  qwen35: { names: ['qwen35'], regexes: [QWEN35], ignoreMerges: false, addBos: false },
  gpt2: {
    names: ['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum', 'modern-bert',
      'exaone4', 'mpt', 'olmo', 'jais', 'trillion', 'granite-docling'],
    regexes: [GPT2], ignoreMerges: false, addBos: false,
  },
  starcoder: {
    names: ['starcoder', 'refact', 'command-r', 'smollm', 'codeshell', 'exaone', 'minerva-7b', 'mellum2'],
    regexes: ['\\p{N}', GPT2], ignoreMerges: false, addBos: false,
  },
  deepseekCoder: {
    names: ['deepseek-coder'],
    regexes: ['[\\r\\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', '[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+', '\\p{N}'], ignoreMerges: false, addBos: false,
  },
  falcon: {
    names: ['falcon'],
    regexes: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)", '[0-9][0-9][0-9]'],
    ignoreMerges: false, addBos: false,
  },
  default: {
    names: ['default'],
    regexes: ['[\\p{P}\\$\\+<=>\\^~\\|]+', "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)", '\\p{N}+', '[0-9][0-9][0-9]'],
    ignoreMerges: false, addBos: false,
  },
};

const byName = new Map<string, PreSplit>();
for (const g of Object.values(groups)) for (const n of g.names) byName.set(n, { regexes: g.regexes, ignoreMerges: g.ignoreMerges, addBos: g.addBos });

/** The split for a `tokenizer.ggml.pre` value (llama.cpp reads a missing value as `default`); undefined when unknown. */
export function preSplit(pre: string | undefined): PreSplit | undefined {
  return byName.get(pre === undefined || pre === '' ? 'default' : pre);
}

/** Every `tokenizer.ggml.pre` value {@link preSplit} knows. */
export function knownPres(): string[] {
  return [...byName.keys()];
}
