/**
 * A HF folder's tokenizer → the GGUF `tokenizer.*` keys, as llama.cpp's convert_hf_to_gguf.py
 * writes them:
 * - SentencePiece `tokenizer.model` (preferred when present, as llama.cpp does): model `llama`,
 *   the pieces' own scores and types, then added_tokens.json and tokenizer_config.json's
 *   `added_tokens_decoder` (score −1000; CONTROL when special or looking special, else
 *   USER_DEFINED with "▁" written as a space);
 * - byte-level (GPT-2 style) BPE tokenizer.json: model `gpt2`, the pre-tokenizer identified by
 *   llama.cpp's hash of the tokenizer's output (lib/tokenize/pre-identify.ts), tokens in id
 *   order, token types from the added tokens, merges as "a b" strings (a space inside a part is
 *   written as U+0120, as llama.cpp does);
 * - SentencePiece-style BPE (byte_fallback) or Unigram tokenizer.json: model `llama`. llama.cpp's
 *   SPM tokenizer merges, at each step, the adjacent pair whose concatenation is the piece with the
 *   highest score; HF BPE applies the merge with the lowest rank. So a BPE piece's score is minus
 *   its position in the order in which merges first produce it; pieces no merge produces follow in
 *   id order. For a tokenizer converted from SentencePiece this gives back the original order of
 *   scores, and llama.cpp picks the same pairs as HF. Unigram keeps its own scores.
 * Special ids, add-BOS/EOS and the chat template follow lib/tokenize/special-tokens.ts.
 * Vocabularies shorter than the model's are padded with `[PADn]` (UNUSED); tokens at or above the
 * model's vocabulary size are dropped (llama.cpp does the same: they have no embedding row).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { LayerquantError } from '../errors.js';
import { GgufType, type GgufKv } from '../io/gguf-types.js';
import { identifyPre, PRE_CHECK_TEXT } from '../tokenize/pre-identify.js';
import { readSentencePiece, SpType } from '../tokenize/sentencepiece.js';
import { readJsonObject, specialTokens, type SpecialType } from '../tokenize/special-tokens.js';
import type { HfTokenizerSource } from './types.js';

/** llama.cpp token types. */
export const TokenType = SpType;

/** Options for {@link hfTokenizerToGgufKv}. */
export interface HfTokenizerOptions {
  /** Vocabulary size the model expects (config.json `vocab_size`): shorter vocabularies are padded. */
  nVocab?: number;
}

type Json = Record<string, unknown>;

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  normalized: boolean;
}

/** The vocabulary part (model, pre, tokens, scores, types, merges) before special ids. */
interface Vocab {
  model: 'llama' | 'gpt2';
  pre: string;
  tokens: string[];
  scores?: number[];
  types: number[];
  merges?: string[];
  /** SentencePiece ids to fall back on when the HF files name none. */
  fallbackIds?: Partial<Record<SpecialType, number>>;
  addSpacePrefix?: boolean;
}

/** Tokens the converter marks CONTROL although the folder does not call them special (llama.cpp's list). */
function looksSpecial(t: string): boolean {
  return ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(t)
    || (t.startsWith('<|') && t.endsWith('|>'))
    || (t.startsWith('<\uff5c') && t.endsWith('\uff5c>'))
    || (t.startsWith('<unused') && t.endsWith('>'));
}

function addedTokens(tj: Json, file: string): AddedToken[] {
  const list = tj.added_tokens ?? [];
  if (!Array.isArray(list)) throw new LayerquantError('E_BAD_CONFIG', '"added_tokens" must be a list', { file });
  return list.map((a: unknown, i) => {
    const o = a as Json | null;
    if (typeof o?.id !== 'number' || !Number.isInteger(o.id) || o.id < 0 || typeof o.content !== 'string') {
      throw new LayerquantError('E_BAD_CONFIG', `"added_tokens"[${i}] needs an integer "id" ≥ 0 and a string "content"`, { file });
    }
    return { id: o.id, content: o.content, special: o.special === true, normalized: o.normalized !== false };
  });
}

function padTo(v: Vocab, n: number, padScore: number): void {
  for (let id = 0; id < n; id++) {
    if (v.tokens[id] !== undefined) continue;
    v.tokens[id] = `[PAD${id}]`;
    v.types[id] = TokenType.UNUSED;
    if (v.scores) v.scores[id] = padScore;
  }
  v.tokens.length = v.types.length = n;
  if (v.scores) v.scores.length = n;
}

/** SentencePiece tokenizer.model (+ added_tokens.json, tokenizer_config.json's added_tokens_decoder). */
function fromSentencePiece(src: HfTokenizerSource, file: string, tokCfg: Json | undefined, nVocab: number | undefined): Vocab {
  const sp = readSentencePiece(file);
  const n = nVocab ?? sp.pieces.length;
  const v: Vocab = { model: 'llama', pre: 'default', tokens: [], scores: [], types: [], fallbackIds: {} };
  for (let id = 0; id < Math.min(n, sp.pieces.length); id++) {
    v.tokens[id] = sp.pieces[id]!;
    v.scores![id] = sp.scores[id]!;
    v.types[id] = sp.types[id]!;
  }
  const extra = join(src.folder, 'added_tokens.json');
  if (existsSync(extra)) {
    for (const [content, id] of Object.entries(readJsonObject(extra))) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new LayerquantError('E_BAD_CONFIG', `"${content}": the id must be an integer ≥ 0`, { file: extra });
      if (id >= n) continue;
      v.tokens[id] = content;
      v.scores![id] = -1000;
      v.types[id] = TokenType.USER_DEFINED;
    }
  }
  const decoder = tokCfg?.added_tokens_decoder;
  if (decoder !== undefined) {
    if (typeof decoder !== 'object' || decoder === null) throw new LayerquantError('E_BAD_CONFIG', '"added_tokens_decoder" must be an object', { file: src.configJson! });
    for (const [key, d] of Object.entries(decoder as Json)) {
      const id = Number(key);
      const c = (d as Json | null)?.content;
      if (!Number.isInteger(id) || id < 0 || typeof c !== 'string') {
        throw new LayerquantError('E_BAD_CONFIG', `"added_tokens_decoder"["${key}"] needs an integer key and a string "content"`, { file: src.configJson! });
      }
      if (id >= n) continue;
      const control = (d as Json).special === true || looksSpecial(c);
      v.tokens[id] = control ? c : c.replaceAll('\u2581', ' ');
      v.scores![id] = -1000;
      v.types[id] = control ? TokenType.CONTROL : TokenType.USER_DEFINED;
    }
  }
  padTo(v, n, -10000);
  const ids = v.fallbackIds!;
  if (sp.bosId >= 0) ids.bos = sp.bosId;
  if (sp.eosId >= 0) ids.eos = sp.eosId;
  if (sp.unkId >= 0) ids.unk = sp.unkId;
  if (sp.padId >= 0) ids.pad = sp.padId;
  if (!sp.addDummyPrefix) v.addSpacePrefix = false;
  return v;
}

/** Whether a tokenizer.json puts "▁" in front of the text (SentencePiece's add_dummy_prefix). */
function addsSpacePrefix(tj: Json): boolean {
  const walk = (node: unknown): boolean => {
    if (typeof node !== 'object' || node === null) return false;
    const o = node as Json;
    if (o.type === 'Prepend' && o.prepend === '\u2581') return true;
    if (o.type === 'Metaspace') return o.prepend_scheme !== 'never' && o.add_prefix_space !== false;
    for (const k of ['normalizers', 'pretokenizers']) if (Array.isArray(o[k]) && (o[k] as unknown[]).some(walk)) return true;
    return false;
  };
  return walk(tj.normalizer) || walk(tj.pre_tokenizer);
}

function vocabPieces(model: Json, file: string): string[] {
  const vocab = model.vocab;
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw new LayerquantError('E_BAD_CONFIG', '"model.vocab" must be an object (BPE)', { file });
  const pieces: string[] = [];
  for (const [piece, id] of Object.entries(vocab as Json)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 10_000_000) {
      throw new LayerquantError('E_BAD_CONFIG', `"model.vocab"[${JSON.stringify(piece)}]: the id must be an integer in [0, 1e7]`, { file });
    }
    pieces[id] = piece;
  }
  return pieces;
}

/** The merges of a BPE model as [left, right] pairs. */
function mergePairs(model: Json, file: string): [string, string][] {
  const merges = model.merges ?? [];
  if (!Array.isArray(merges)) throw new LayerquantError('E_BAD_CONFIG', '"model.merges" must be a list', { file });
  return merges.map((m: unknown, rank) => {
    if (typeof m === 'string') {
      const sp = m.indexOf(' ', 1);
      if (sp > 0) return [m.slice(0, sp), m.slice(sp + 1)];
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      return [m[0], m[1]];
    }
    throw new LayerquantError('E_BAD_CONFIG', `"model.merges"[${rank}] must be "a b" or ["a", "b"]`, { file });
  });
}

/** SentencePiece-style BPE (byte fallback) or Unigram tokenizer.json → model `llama`. */
function spmFromJson(tj: Json, model: Json, type: string, file: string, nVocab: number | undefined): Vocab {
  let pieces: string[];
  const unigramScores: number[] = [];
  if (type === 'BPE') {
    pieces = vocabPieces(model, file);
  } else {
    if (!Array.isArray(model.vocab)) throw new LayerquantError('E_BAD_CONFIG', '"model.vocab" must be a list of [piece, score] (Unigram)', { file });
    pieces = (model.vocab as unknown[]).map((e, id) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') throw new LayerquantError('E_BAD_CONFIG', `"model.vocab"[${id}] must be [piece, score]`, { file });
      unigramScores[id] = e[1];
      return e[0];
    });
  }
  const added = new Map<number, AddedToken>();
  for (const a of addedTokens(tj, file)) {
    added.set(a.id, a);
    pieces[a.id] = a.content;
  }
  const n = nVocab ?? pieces.length;
  if (pieces.length > n) pieces.length = n;
  const idOf = new Map<string, number>();
  pieces.forEach((p, id) => { if (p !== undefined && !idOf.has(p)) idOf.set(p, id); });
  const unkPiece = type === 'BPE'
    ? (typeof model.unk_token === 'string' ? model.unk_token : undefined)
    : (typeof model.unk_id === 'number' ? pieces[model.unk_id] : undefined);
  const v: Vocab = { model: 'llama', pre: 'default', tokens: [], scores: [], types: [] };
  pieces.forEach((p, id) => {
    const a = added.get(id);
    let type: number = TokenType.NORMAL;
    if (p === unkPiece) type = TokenType.UNKNOWN;
    else if (a) type = a.special || looksSpecial(p) ? TokenType.CONTROL : TokenType.USER_DEFINED;
    else if (/^<0x[0-9A-Fa-f]{2}>$/.test(p)) type = TokenType.BYTE;
    v.tokens[id] = type === TokenType.USER_DEFINED ? p.replaceAll('\u2581', ' ') : p;
    v.types[id] = type;
    v.scores![id] = 0;
  });
  if (type === 'Unigram') {
    pieces.forEach((_, id) => { v.scores![id] = unigramScores[id] ?? 0; });
  } else {
    const firstRank = new Map<number, number>();
    mergePairs(model, file).forEach(([a, b], rank) => {
      const id = idOf.get(a + b);
      if (id !== undefined && !firstRank.has(id)) firstRank.set(id, rank);
    });
    const normal: number[] = [];
    v.types.forEach((t, id) => { if (t === TokenType.NORMAL) normal.push(id); });
    normal.sort((x, y) => (firstRank.get(x) ?? Infinity) - (firstRank.get(y) ?? Infinity) || x - y);
    normal.forEach((id, pos) => { v.scores![id] = -pos; });
  }
  padTo(v, n, -10000);
  if (!addsSpacePrefix(tj)) v.addSpacePrefix = false;
  return v;
}

/** Byte-level (GPT-2 style) BPE tokenizer.json → model `gpt2` with llama.cpp's pre-tokenizer name. */
function bpeFromJson(tj: Json, model: Json, tokCfg: Json | undefined, file: string, nVocab: number | undefined): Vocab {
  const pieces = vocabPieces(model, file);
  const added = addedTokens(tj, file);
  for (const a of added) pieces[a.id] = a.content;
  const merges = mergePairs(model, file).map(([a, b]) => `${a.replaceAll(' ', '\u0120')} ${b.replaceAll(' ', '\u0120')}`);
  let hf: HfTokenizer;
  try {
    // The library wants every top-level section present; absent ones mean none.
    hf = new HfTokenizer({ normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...tj }, tokCfg ?? {});
  } catch (err) {
    throw new LayerquantError('E_BAD_CONFIG', `the tokenizer library cannot load it: ${(err as Error).message}`, { file, cause: err });
  }
  const { name: pre, hash } = identifyPre(hf.encode(PRE_CHECK_TEXT).ids);
  if (pre === undefined) {
    throw new LayerquantError(
      'E_UNSUPPORTED',
      `its pre-tokenizer ("pre_tokenizer") is not one llama.cpp knows: the check text hashes to ${hash}, which is not in llama.cpp's table (convert_hf_to_gguf.py get_vocab_base_pre)`,
      { file },
    );
  }
  const n = nVocab ?? pieces.length;
  if (pieces.length > n) pieces.length = n;
  const addedById = new Map(added.map((a) => [a.id, a]));
  const v: Vocab = { model: 'gpt2', pre, tokens: [], types: [], merges };
  pieces.forEach((p, id) => {
    const a = addedById.get(id);
    if (!a) {
      v.tokens[id] = p;
      v.types[id] = TokenType.NORMAL;
      return;
    }
    // llama.cpp expects added tokens pre-normalized: a token the tokenizer normalizes is written
    // as it encodes and decodes back.
    const text = a.normalized ? p : hf.decode(hf.encode(p, { add_special_tokens: false }).ids, { skip_special_tokens: false });
    const control = a.special || looksSpecial(text);
    v.tokens[id] = control ? text : text.replaceAll('\u2581', ' ');
    v.types[id] = control ? TokenType.CONTROL : TokenType.USER_DEFINED;
  });
  padTo(v, n, 0);
  return v;
}

/** The byte-level BPE test llama.cpp's converter uses: BPE without byte fallback, ByteLevel decoding. */
function isByteLevel(tj: Json, model: Json): boolean {
  const decoder = tj.decoder as Json | null | undefined;
  return model.byte_fallback !== true && decoder?.type === 'ByteLevel';
}

/** Converts a HF folder's tokenizer into GGUF `tokenizer.*` metadata. */
export function hfTokenizerToGgufKv(src: HfTokenizerSource, opts: HfTokenizerOptions = {}): GgufKv[] {
  const tokCfg = src.configJson ? readJsonObject(src.configJson) : undefined;
  const configFile = join(src.folder, 'config.json');
  const config = existsSync(configFile) ? readJsonObject(configFile) : undefined;
  const tj = src.tokenizerJson ? readJsonObject(src.tokenizerJson) : undefined;
  let v: Vocab;
  if (src.tokenizerModel) {
    v = fromSentencePiece(src, src.tokenizerModel, tokCfg, opts.nVocab);
  } else if (tj && src.tokenizerJson) {
    const file = src.tokenizerJson;
    const model = tj.model as Json | null | undefined;
    if (typeof model !== 'object' || model === null) throw new LayerquantError('E_BAD_CONFIG', 'no "model" object', { file });
    const type = typeof model.type === 'string' ? model.type : Array.isArray(model.vocab) ? 'Unigram' : 'BPE';
    if (type === 'BPE' && isByteLevel(tj, model)) v = bpeFromJson(tj, model, tokCfg, file, opts.nVocab);
    else if ((type === 'BPE' && model.byte_fallback === true) || type === 'Unigram') v = spmFromJson(tj, model, type, file, opts.nVocab);
    else {
      throw new LayerquantError(
        'E_UNSUPPORTED',
        `"model.type" ${JSON.stringify(type)}${type === 'BPE' ? ' without byte_fallback or a ByteLevel decoder' : ''} is not supported (byte-level BPE, SentencePiece-style BPE, Unigram)`,
        { file },
      );
    }
  } else {
    throw new LayerquantError('E_NOT_FOUND', 'the folder has no tokenizer (tokenizer.json or SentencePiece tokenizer.model), which a GGUF needs', { file: join(src.folder, 'tokenizer.json') });
  }

  const files: Parameters<typeof specialTokens>[0] = { folder: src.folder, nVocab: v.tokens.length };
  if (tj) files.tokenizerJson = tj;
  if (tokCfg) files.tokenizerConfig = tokCfg;
  if (config) files.config = config;
  if (src.configJson) files.configFile = src.configJson;
  const sp = specialTokens(files);
  const ids = { ...v.fallbackIds, ...sp.ids };
  if (v.model === 'llama' && ids.unk === undefined) {
    const unk = v.types.indexOf(TokenType.UNKNOWN);
    if (unk >= 0) ids.unk = unk;
  }

  const str = (key: string, value: string): GgufKv => ({ key, type: GgufType.STRING, value });
  const kv: GgufKv[] = [str('tokenizer.ggml.model', v.model), str('tokenizer.ggml.pre', v.pre)];
  kv.push({ key: 'tokenizer.ggml.tokens', type: GgufType.ARRAY, value: { itemType: GgufType.STRING, items: v.tokens } });
  if (v.scores) kv.push({ key: 'tokenizer.ggml.scores', type: GgufType.ARRAY, value: { itemType: GgufType.FLOAT32, items: v.scores } });
  kv.push({ key: 'tokenizer.ggml.token_type', type: GgufType.ARRAY, value: { itemType: GgufType.INT32, items: v.types } });
  if (v.merges) kv.push({ key: 'tokenizer.ggml.merges', type: GgufType.ARRAY, value: { itemType: GgufType.STRING, items: v.merges } });
  const idKeys: [SpecialType, string][] = [
    ['bos', 'bos_token_id'], ['eos', 'eos_token_id'], ['eot', 'eot_token_id'], ['eom', 'eom_token_id'], ['unk', 'unknown_token_id'],
    ['sep', 'seperator_token_id'], ['pad', 'padding_token_id'], ['cls', 'cls_token_id'], ['mask', 'mask_token_id'],
  ];
  for (const [type, key] of idKeys) {
    const id = ids[type];
    if (id !== undefined) kv.push({ key: `tokenizer.ggml.${key}`, type: GgufType.UINT32, value: id });
  }
  // SentencePiece vocabularies add BOS unless told otherwise (llama.cpp's default; transformers' Llama/Gemma).
  const addBos = sp.add.bos ?? (v.model === 'llama' ? true : undefined);
  if (addBos !== undefined) kv.push({ key: 'tokenizer.ggml.add_bos_token', type: GgufType.BOOL, value: addBos });
  const addEos = sp.add.eos ?? (v.model === 'llama' ? false : undefined);
  if (addEos !== undefined) kv.push({ key: 'tokenizer.ggml.add_eos_token', type: GgufType.BOOL, value: addEos });
  if (sp.add.sep !== undefined) kv.push({ key: 'tokenizer.ggml.add_sep_token', type: GgufType.BOOL, value: sp.add.sep });
  if (v.addSpacePrefix === false) kv.push({ key: 'tokenizer.ggml.add_space_prefix', type: GgufType.BOOL, value: false });
  const named = sp.chatTemplates.filter((t) => t.name !== 'default');
  for (const t of named) kv.push(str(`tokenizer.chat_template.${t.name.replace(/[^A-Za-z0-9]/g, '_')}`, t.template));
  if (named.length) kv.push({ key: 'tokenizer.chat_templates', type: GgufType.ARRAY, value: { itemType: GgufType.STRING, items: named.map((t) => t.name.replace(/[^A-Za-z0-9]/g, '_')) } });
  const def = sp.chatTemplates.find((t) => t.name === 'default');
  if (def) kv.push(str('tokenizer.chat_template', def.template));
  return kv;
}

