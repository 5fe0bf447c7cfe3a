/**
 * Text → token ids for calibration and evaluation, with llama.cpp's ids: one tokenizer library
 * (@huggingface/tokenizers) fed the model's own tokenizer.json (HF folders), or a vocabulary in
 * GGUF form converted to that form (./gguf-vocab.ts): the GGUF's embedded one, or the one
 * lib/model/tokenizer-gguf.ts makes from a HF folder's SentencePiece tokenizer.model when the
 * folder has no tokenizer.json. BOS is added as llama.cpp does for the GGUF, and as transformers
 * does for a HF folder (./special-tokens.ts: Llama 3's template adds it without add_bos_token).
 *
 * Characters outside a vocabulary without byte fallback (BabyLlama's 102-character alphabet):
 * llama.cpp aborts on them; we throw E_BAD_TEXT naming the first such character and its position,
 * unless `unknown: 'skip'` (drop them) or `'unk'` (map them to the unknown token) is asked for.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { LayerquantError } from '../errors.js';
import { hfTokenizerToGgufKv } from '../model/tokenizer-gguf.js';
import type { TokenizerSource } from '../model/types.js';
import { ggufVocabToTokenizerJson } from './gguf-vocab.js';
import { readJsonObject, specialTokens } from './special-tokens.js';

/** Where a model's tokenizer comes from. */
export type { TokenizerSource };

/** Policy for characters a vocabulary without byte fallback cannot encode. */
export type UnknownCharPolicy = 'error' | 'skip' | 'unk';

/** A loaded tokenizer. */
export interface TextTokenizer {
  /** Vocabulary size. */
  readonly vocabSize: number;
  /** BOS id, if the model has one. */
  readonly bosId: number | undefined;
  /** EOS id, if the model has one. */
  readonly eosId: number | undefined;
  /** Whether {@link encode} adds BOS by default (the model's add_bos_token). */
  readonly addBos: boolean;
  /** Token ids of `text`; BOS first when `addBos` (default: the model's setting). */
  encode(text: string, opts?: { addBos?: boolean }): Int32Array;
  decode(ids: ArrayLike<number>): string;
}

/** How text is prepared before the library sees it. */
interface Segmenting {
  /** Characters outside the vocabulary (no byte fallback): policy applies. */
  alphabet?: Set<string>;
  /** The library was built without SentencePiece's "▁" prefix normalizer: add ' ' before the text. */
  spacePrefix: boolean;
  /**
   * Characters that appear in no vocabulary piece, so no merge can cross them: the text is cut
   * after each one and the pieces are encoded separately (same ids; avoids the library's
   * quadratic merging over a whole file when there is no pre-tokenizer).
   */
  splitChars: Set<string>;
}

class Wrapped implements TextTokenizer {
  constructor(
    private readonly tok: HfTokenizer,
    readonly bosId: number | undefined,
    readonly eosId: number | undefined,
    readonly addBos: boolean,
    private readonly seg: Segmenting,
    private readonly unknown: UnknownCharPolicy,
    private readonly unkId: number | undefined,
    readonly vocabSize: number,
  ) {}

  encode(text: string, opts: { addBos?: boolean } = {}): Int32Array {
    // 1. Unknown characters (vocabularies without byte fallback).
    const parts: string[] = [];
    const alphabet = this.seg.alphabet;
    if (alphabet) {
      let cur = '';
      let i = 0;
      for (const ch of text) {
        if (alphabet.has(ch)) cur += ch;
        else if (this.unknown === 'error')
          throw new LayerquantError('E_BAD_TEXT', `character ${JSON.stringify(ch)} (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at offset ${i} is not in the vocabulary, which has no byte fallback; filter the text to the model's alphabet, or pass unknown: 'skip' | 'unk'`);
        else if (this.unknown === 'unk') { parts.push(cur); cur = ''; }
        i += ch.length;
      }
      parts.push(cur);
    } else {
      parts.push(text);
    }
    const ids: number[] = [];
    let firstPiece = true;
    parts.forEach((part, k) => {
      if (k > 0 && this.unkId !== undefined) ids.push(this.unkId);
      // 2. Cut after characters no merge can cross.
      let start = 0;
      const pieces: string[] = [];
      if (this.seg.splitChars.size) {
        for (let i = 0; i < part.length; i++)
          if (this.seg.splitChars.has(part[i]!)) { pieces.push(part.slice(start, i + 1)); start = i + 1; }
      }
      pieces.push(part.slice(start));
      for (let p of pieces) {
        if (firstPiece && this.seg.spacePrefix && text.length > 0) p = ' ' + p;
        firstPiece = false;
        if (p.length) for (const id of this.tok.encode(p, { add_special_tokens: false }).ids) ids.push(id);
      }
    });
    const bos = (opts.addBos ?? this.addBos) && this.bosId !== undefined;
    const out = new Int32Array(ids.length + (bos ? 1 : 0));
    if (bos) out[0] = this.bosId!;
    out.set(ids, bos ? 1 : 0);
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    return this.tok.decode(Array.from(ids), { skip_special_tokens: true });
  }
}

type Json = Record<string, unknown>;

/** If `json` has SentencePiece's [Prepend "▁", Replace " "→"▁"] normalizer, drops the Prepend (we add it). */
function splitSpmNormalizer(json: Json): { json: Json; spacePrefix: boolean } {
  const n = json.normalizer as { type?: string; normalizers?: Json[] } | null | undefined;
  const list = n?.type === 'Sequence' ? n.normalizers ?? [] : n ? [n as Json] : [];
  const i = list.findIndex((x) => x.type === 'Prepend' && x.prepend === '\u2581');
  if (i !== 0 || json.pre_tokenizer != null) return { json, spacePrefix: false };
  const rest = list.slice(1);
  const ok = rest.every((x) => x.type === 'Replace');
  if (!ok) return { json, spacePrefix: false };
  return { json: { ...json, normalizer: { type: 'Sequence', normalizers: rest } }, spacePrefix: true };
}

/** Characters (from a fixed candidate list) that occur in no non-byte vocabulary piece. */
function safeSplitChars(json: Json): Set<string> {
  const model = json.model as { vocab?: Record<string, number> } | undefined;
  const pieces = Object.keys(model?.vocab ?? {}).filter((p) => !/^<0x[0-9A-Fa-f]{2}>$/.test(p));
  const added = ((json.added_tokens as { content: string }[] | undefined) ?? []).map((a) => a.content);
  return new Set(['\n'].filter((c) => !pieces.some((p) => p.includes(c)) && !added.some((p) => p.includes(c))));
}

function build(json: Json, config: Json, alphabet: Set<string> | undefined): { tok: HfTokenizer; seg: Segmenting } {
  const { json: j, spacePrefix } = splitSpmNormalizer(json);
  // We add BOS ourselves: drop the template post-processor so encode() never doubles it.
  const tok = new HfTokenizer({ ...j, post_processor: null }, { ...config, add_bos_token: false });
  const seg: Segmenting = { spacePrefix, splitChars: spacePrefix ? safeSplitChars(j) : new Set() };
  if (alphabet) seg.alphabet = alphabet;
  return { tok, seg };
}

/** Loads the tokenizer of a model. */
export function loadTokenizer(source: TokenizerSource, opts: { unknown?: UnknownCharPolicy; file?: string } = {}): TextTokenizer {
  const unknown = opts.unknown ?? 'error';
  if (source.kind === 'hf' && !source.tokenizerJson) {
    if (!source.tokenizerModel) {
      throw new LayerquantError('E_NOT_FOUND', 'no tokenizer.json or SentencePiece tokenizer.model: this command tokenizes text', { file: join(source.folder, 'tokenizer.json') });
    }
    // SentencePiece only: the same vocabulary a GGUF of this folder carries.
    return loadTokenizer({ kind: 'gguf', kv: hfTokenizerToGgufKv({ ...source }) }, { ...opts, file: source.tokenizerModel });
  }
  if (source.kind === 'gguf') {
    const conv = ggufVocabToTokenizerJson(source.kv, opts.file);
    const model = conv.tokenizerJson.model as { vocab: Record<string, number>; unk_token: string | null };
    const unkId = model.unk_token !== null ? model.vocab[model.unk_token] : undefined;
    const vocabSize = Object.keys(model.vocab).length;
    const { tok, seg } = build(conv.tokenizerJson, conv.tokenizerConfig, conv.kind === 'spm' && !conv.byteFallback ? conv.alphabet : undefined);
    return new Wrapped(tok, conv.bosId, conv.eosId, conv.addBos, seg, unknown, unkId, vocabSize);
  }
  const file = source.tokenizerJson!;
  const json = readJsonObject(file);
  const config = source.configJson ? readJsonObject(source.configJson) : {};
  const modelConfig = join(source.folder, 'config.json');
  const model = json.model as { vocab?: Record<string, number>; byte_fallback?: boolean; type?: string; unk_token?: string | null } | undefined;
  if (typeof model !== 'object' || model === null) throw new LayerquantError('E_BAD_CONFIG', 'no "model" object', { file });
  const vocab = model.vocab ?? {};
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw new LayerquantError('E_BAD_CONFIG', '"model.vocab" is not an object', { file });
  const added = (json.added_tokens as { id: number; content: string }[] | undefined) ?? [];
  const isAdded = (a: unknown): boolean => typeof a === 'object' && a !== null && Number.isSafeInteger((a as { id?: unknown }).id) && (a as { id: number }).id >= 0 && typeof (a as { content?: unknown }).content === 'string';
  if (!Array.isArray(added) || !added.every(isAdded)) throw new LayerquantError('E_BAD_CONFIG', '"added_tokens" is not a list of { id, content }', { file });
  const files: Parameters<typeof specialTokens>[0] = { tokenizerJson: json, folder: source.folder };
  if (source.configJson) {
    files.tokenizerConfig = config;
    files.configFile = source.configJson;
  }
  if (existsSync(modelConfig)) files.config = readJsonObject(modelConfig);
  const sp = specialTokens(files);
  // SentencePiece-style vocabularies add BOS unless told otherwise (transformers' LlamaTokenizer, llama.cpp).
  const spmStyle = model.type === 'Unigram' || (model.type === 'BPE' && model.byte_fallback === true);
  const addBos = (sp.add.bos ?? spmStyle) && sp.ids.bos !== undefined;
  let alphabet: Set<string> | undefined;
  if (model.type === 'BPE' && model.byte_fallback === false && json.pre_tokenizer == null) {
    alphabet = new Set(Object.keys(vocab).filter((p) => [...p].length === 1).map((p) => (p === '\u2581' ? ' ' : p)));
  }
  const unkId = model.unk_token && Object.hasOwn(vocab, model.unk_token) ? vocab[model.unk_token] : undefined;
  const vocabSize = Math.max(Object.keys(vocab).length, ...added.map((a) => a.id + 1));
  let built: ReturnType<typeof build>;
  try {
    built = build(json, config, alphabet);
  } catch (err) {
    throw new LayerquantError('E_BAD_CONFIG', `the tokenizer library cannot load it: ${(err as Error).message}`, { file, cause: err });
  }
  return new Wrapped(built.tok, sp.ids.bos, sp.ids.eos, addBos, built.seg, unknown, unkId, vocabSize);
}
