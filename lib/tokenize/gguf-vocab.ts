/**
 * Turns the vocabulary embedded in a GGUF (tokenizer.ggml.*) into the Hugging Face
 * `tokenizer.json` form, so one tokenizer library (@huggingface/tokenizers) serves GGUF and HF
 * models alike.
 * - SentencePiece ("llama"): BPE with merges derived from piece scores the way transformers'
 *   SentencePieceExtractor does (every split of a piece into two pieces of the vocabulary, ordered
 *   by the merged piece's score), a "▁" prefix and space→"▁" normalizer, byte fallback when the
 *   vocabulary has <0xNN> byte tokens. This reproduces llama.cpp's SPM tokenizer ids.
 * - BPE ("gpt2"): byte-level BPE with the stored merges and the split regexes llama.cpp uses for
 *   tokenizer.ggml.pre (./pre-split.ts); an unknown pre is refused rather than guessed.
 * BOS/EOS ids and add-BOS default as llama.cpp's loader does when the keys are absent (SPM: BOS 1,
 * EOS 2, unknown 0, BOS added; BPE: BOS = EOS = 11, BOS added only for the llama3 pre-tokenizers).
 */
import { LayerquantError } from '../errors.js';
import type { GgufKv, GgufValue } from '../io/gguf-types.js';
import { preSplit } from './pre-split.js';

/** Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type). */
export const enum TokenType { NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6 }

/** What {@link ggufVocabToTokenizerJson} returns. */
export interface ConvertedVocab {
  /** tokenizer.json object. */
  tokenizerJson: Record<string, unknown>;
  /** tokenizer_config.json object. */
  tokenizerConfig: Record<string, unknown>;
  /** Whether unknown characters fall back to byte tokens. */
  byteFallback: boolean;
  /** Characters that are single-character pieces (for the no-byte-fallback policy). */
  alphabet: Set<string>;
  bosId: number | undefined;
  eosId: number | undefined;
  addBos: boolean;
  kind: 'spm' | 'bpe';
}

function arr(kv: Map<string, GgufValue>, key: string): GgufValue[] | undefined {
  const v = kv.get(key);
  return v !== undefined && typeof v === 'object' && 'items' in v ? v.items : undefined;
}

function num(v: GgufValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** Converts a GGUF's embedded vocabulary; throws E_UNSUPPORTED / E_BAD_CONFIG when it cannot. */
export function ggufVocabToTokenizerJson(kvList: GgufKv[], file?: string): ConvertedVocab {
  const kv = new Map(kvList.map((e) => [e.key, e.value]));
  const ctx = file ? { file } : {};
  const model = kv.get('tokenizer.ggml.model');
  const tokens = arr(kv, 'tokenizer.ggml.tokens');
  if (model === undefined || !tokens)
    throw new LayerquantError('E_BAD_CONFIG', 'the GGUF has no embedded tokenizer (tokenizer.ggml.model / tokenizer.ggml.tokens missing)', ctx);
  const pieces = tokens.map(String);
  const types = (arr(kv, 'tokenizer.ggml.token_type') ?? []).map((v) => num(v) ?? TokenType.NORMAL);
  const spm = model === 'llama';
  // A key's id when it is inside the vocabulary, else llama.cpp's default for the model.
  const idKey = (key: string, spmDefault: number | undefined, bpeDefault: number | undefined): number | undefined => {
    const id = num(kv.get(key)) ?? (spm ? spmDefault : model === 'gpt2' ? bpeDefault : undefined);
    return id !== undefined && id >= 0 && id < pieces.length ? id : undefined;
  };
  const bosId = idKey('tokenizer.ggml.bos_token_id', 1, 11);
  const eosId = idKey('tokenizer.ggml.eos_token_id', 2, 11);
  const unkId = idKey('tokenizer.ggml.unknown_token_id', 0, undefined);
  const addBosV = kv.get('tokenizer.ggml.add_bos_token');
  // A Map for membership ("constructor" and "toString" are pieces, not Object.prototype members);
  // the JSON vocab object has no prototype, so every piece, "__proto__" included, is an own key.
  const idOf = new Map<string, number>();
  const vocab = Object.create(null) as Record<string, number>;
  pieces.forEach((p, i) => {
    if (idOf.has(p)) return;
    idOf.set(p, i);
    vocab[p] = i;
  });
  const special = (i: number) => types[i] === TokenType.CONTROL || types[i] === TokenType.UNKNOWN || types[i] === TokenType.USER_DEFINED;
  const addedTokens = pieces.flatMap((p, i) => special(i) ? [{
    id: i, content: p, single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[i] !== TokenType.USER_DEFINED,
  }] : []);
  const tokenizerConfig: Record<string, unknown> = {
    add_bos_token: false, add_eos_token: false, clean_up_tokenization_spaces: false,
    ...(bosId !== undefined && pieces[bosId] ? { bos_token: pieces[bosId] } : {}),
    ...(eosId !== undefined && pieces[eosId] ? { eos_token: pieces[eosId] } : {}),
    ...(unkId !== undefined && pieces[unkId] ? { unk_token: pieces[unkId] } : {}),
  };

  if (model === 'llama') {
    const scores = (arr(kv, 'tokenizer.ggml.scores') ?? []).map((v) => num(v) ?? 0);
    const byteFallback = pieces.some((p, i) => types[i] === TokenType.BYTE || /^<0x[0-9A-F]{2}>$/.test(p));
    // Merges: every split of a normal piece into two vocabulary pieces, by the piece's score.
    const merges: { l: string; r: string; score: number; order: number }[] = [];
    let order = 0;
    pieces.forEach((p, i) => {
      if (special(i) || types[i] === TokenType.BYTE || types[i] === TokenType.UNUSED) return;
      const local: { l: string; r: string; score: number; order: number }[] = [];
      // Every split at a code point boundary (a surrogate pair stays whole).
      for (let k = 1; k < p.length; k++) {
        const c = p.charCodeAt(k);
        if (c >= 0xdc00 && c <= 0xdfff && k > 0 && (p.charCodeAt(k - 1) & 0xfc00) === 0xd800) continue;
        const l = p.slice(0, k), r = p.slice(k);
        if (idOf.has(l) && idOf.has(r)) local.push({ l, r, score: scores[i] ?? 0, order: 0 });
      }
      if (local.length > 1) local.sort((a, b) => (idOf.get(a.l)! - idOf.get(b.l)!) || (idOf.get(a.r)! - idOf.get(b.r)!));
      for (const m of local) {
        m.order = order++;
        merges.push(m);
      }
    });
    merges.sort((a, b) => (b.score - a.score) || (a.order - b.order));
    const addSpace = kv.get('tokenizer.ggml.add_space_prefix') !== false;
    const normalizers: unknown[] = [];
    if (addSpace) normalizers.push({ type: 'Prepend', prepend: '\u2581' });
    normalizers.push({ type: 'Replace', pattern: { String: ' ' }, content: '\u2581' });
    const alphabet = new Set<string>();
    pieces.forEach((p, i) => { if (!special(i) && [...p].length === 1) alphabet.add(p === '\u2581' ? ' ' : p); });
    const unk = unkId !== undefined ? pieces[unkId] : undefined;
    return {
      kind: 'spm', byteFallback, alphabet, bosId, eosId, addBos: addBosV !== false,
      tokenizerConfig,
      tokenizerJson: {
        version: '1.0', truncation: null, padding: null, added_tokens: addedTokens,
        normalizer: { type: 'Sequence', normalizers }, pre_tokenizer: null, post_processor: null,
        decoder: { type: 'Sequence', decoders: [
          { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
          ...(addSpace ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
        ] },
        model: {
          type: 'BPE', dropout: null, unk_token: unk ?? null, continuing_subword_prefix: null, end_of_word_suffix: null,
          fuse_unk: true, byte_fallback: byteFallback, ignore_merges: false, vocab, merges: merges.map((m) => [m.l, m.r]),
        },
      },
    };
  }
  if (model === 'gpt2') {
    const mergesRaw = arr(kv, 'tokenizer.ggml.merges');
    if (!mergesRaw) throw new LayerquantError('E_BAD_CONFIG', 'a gpt2 (BPE) vocabulary needs tokenizer.ggml.merges', ctx);
    const preV = kv.get('tokenizer.ggml.pre');
    const pre = preV === undefined ? undefined : String(preV);
    const split = preSplit(pre);
    if (!split) {
      throw new LayerquantError('E_UNSUPPORTED', `tokenizer.ggml.pre ${JSON.stringify(pre)}: layerquant cannot reproduce this pre-tokenizer's split`, ctx);
    }
    // llama.cpp splits "a b" at the first space after the first byte.
    const merges = mergesRaw.map((m) => {
      const t = String(m);
      const sp = t.indexOf(' ', 1);
      return sp > 0 ? [t.slice(0, sp), t.slice(sp + 1)] : [t, ''];
    });
    return {
      kind: 'bpe', byteFallback: true, alphabet: new Set(), bosId, eosId,
      addBos: typeof addBosV === 'boolean' ? addBosV : split.addBos, tokenizerConfig,
      tokenizerJson: {
        version: '1.0', truncation: null, padding: null, added_tokens: addedTokens, normalizer: null,
        pre_tokenizer: { type: 'Sequence', pretokenizers: [
          ...split.regexes.map((r) => ({ type: 'Split', pattern: { Regex: r }, behavior: 'Isolated', invert: false })),
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
        ] },
        post_processor: null,
        decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        model: {
          type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
          fuse_unk: false, byte_fallback: false, ignore_merges: split.ignoreMerges, vocab, merges,
        },
      },
    };
  }
  throw new LayerquantError('E_UNSUPPORTED', `tokenizer model '${String(model)}' is not supported (supported: llama, gpt2)`, ctx);
}
