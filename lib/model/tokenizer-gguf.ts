/**
 * HF `tokenizer.json` (SentencePiece-style BPE with byte fallback, or Unigram) → the GGUF
 * `tokenizer.*` keys of llama.cpp's SentencePiece tokenizer (`tokenizer.ggml.model = "llama"`).
 *
 * llama.cpp's SPM tokenizer merges, at each step, the adjacent pair whose concatenation is the
 * vocabulary piece with the highest score (ties: leftmost). HF BPE applies the merge with the
 * lowest rank. So a BPE piece's score is minus its position in the order in which merges first
 * produce it; pieces no merge produces (single characters) follow in id order. For a tokenizer
 * converted from SentencePiece (merges ordered by piece score) this gives back the original
 * scores, and llama.cpp then picks the same pairs as HF.
 */
import { readFileSync } from 'node:fs';
import { LayerquantError } from '../errors.js';
import { GgufType, type GgufKv } from '../io/gguf-types.js';

/** llama.cpp token types. */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** Options for {@link hfTokenizerToGgufKv}. */
export interface HfTokenizerOptions {
  /** Path of `tokenizer_config.json`, if any (add_bos_token, add_eos_token, bos/eos/unk tokens). */
  configJson?: string;
  /** Vocabulary size the model expects; shorter vocabularies are padded with unused `[PADn]` tokens. */
  nVocab?: number;
  /** Token ids from the model's config.json, used when tokenizer_config.json names none. */
  bosTokenId?: number;
  eosTokenId?: number;
}

interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

interface TokenizerJson {
  model?: { type?: string; vocab?: unknown; merges?: unknown; unk_token?: string | null; byte_fallback?: boolean; unk_id?: number | null };
  added_tokens?: AddedToken[];
  normalizer?: unknown;
  pre_tokenizer?: unknown;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LayerquantError('E_NOT_FOUND', `cannot read: ${(err as Error).message}`, { file, cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new LayerquantError('E_BAD_CONFIG', `not valid JSON: ${(err as Error).message}`, { file, cause: err });
  }
}

function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** Whether the tokenizer puts "▁" in front of the text (SentencePiece's add_dummy_prefix). */
function addsSpacePrefix(tj: TokenizerJson): boolean {
  const walk = (n: unknown): boolean => {
    if (typeof n !== 'object' || n === null) return false;
    const o = n as Record<string, unknown>;
    if (o.type === 'Prepend' && o.prepend === '\u2581') return true;
    if (o.type === 'Metaspace') return o.prepend_scheme !== 'never' && o.add_prefix_space !== false;
    for (const k of ['normalizers', 'pretokenizers']) if (Array.isArray(o[k]) && (o[k] as unknown[]).some(walk)) return true;
    return false;
  };
  return walk(tj.normalizer) || walk(tj.pre_tokenizer);
}

/** Converts `tokenizer.json` (+ tokenizer_config.json) into GGUF `tokenizer.*` metadata, in llama.cpp's key order. */
export function hfTokenizerToGgufKv(tokenizerJson: string, opts: HfTokenizerOptions = {}): GgufKv[] {
  const file = tokenizerJson;
  const tj = readJson(file) as TokenizerJson;
  const model = tj?.model;
  if (typeof model !== 'object' || model === null) throw new LayerquantError('E_BAD_CONFIG', 'no "model" section', { file });
  const type = model.type ?? (Array.isArray(model.vocab) ? 'Unigram' : 'BPE');

  // id → piece, from the model vocabulary and the added tokens.
  const pieces: string[] = [];
  const unigramScores: number[] = [];
  if (type === 'BPE') {
    if (typeof model.vocab !== 'object' || model.vocab === null || Array.isArray(model.vocab)) {
      throw new LayerquantError('E_BAD_CONFIG', 'BPE model without a vocab object', { file });
    }
    if (model.byte_fallback !== true) {
      throw new LayerquantError(
        'E_UNSUPPORTED',
        'only SentencePiece-style BPE (byte_fallback) and Unigram tokenizers convert to GGUF so far; byte-level (GPT-2 style) BPE is not supported yet',
        { file },
      );
    }
    for (const [piece, id] of Object.entries(model.vocab as Record<string, unknown>)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 10_000_000) throw new LayerquantError('E_BAD_CONFIG', `bad id for token ${JSON.stringify(piece)}`, { file });
      pieces[id] = piece;
    }
  } else if (type === 'Unigram') {
    if (!Array.isArray(model.vocab)) throw new LayerquantError('E_BAD_CONFIG', 'Unigram model without a vocab list', { file });
    (model.vocab as unknown[]).forEach((e, id) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') throw new LayerquantError('E_BAD_CONFIG', `bad Unigram vocab entry ${id}`, { file });
      pieces[id] = e[0];
      unigramScores[id] = e[1];
    });
  } else {
    throw new LayerquantError('E_UNSUPPORTED', `tokenizer model type "${String(type)}" is not supported (BPE with byte_fallback, Unigram)`, { file });
  }
  const added = new Map<number, AddedToken>();
  for (const a of tj.added_tokens ?? []) {
    if (typeof a?.id !== 'number' || typeof a.content !== 'string') continue;
    added.set(a.id, a);
    pieces[a.id] = a.content;
  }
  const n = Math.max(pieces.length, opts.nVocab ?? 0);
  const idOf = new Map<string, number>();
  for (let id = 0; id < pieces.length; id++) if (pieces[id] !== undefined && !idOf.has(pieces[id]!)) idOf.set(pieces[id]!, id);

  const unkPiece = type === 'BPE' ? model.unk_token ?? undefined : typeof model.unk_id === 'number' ? pieces[model.unk_id] : undefined;
  const byteRe = /^<0x[0-9A-F]{2}>$/;
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < n; id++) {
    const p = pieces[id];
    if (p === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TokenType.UNUSED);
      continue;
    }
    tokens.push(p);
    const a = added.get(id);
    if (p === unkPiece) types.push(TokenType.UNKNOWN);
    else if (a) types.push(a.special ? TokenType.CONTROL : TokenType.USER_DEFINED);
    else if (byteRe.test(p)) types.push(TokenType.BYTE);
    else types.push(TokenType.NORMAL);
  }

  // Scores.
  const scores = new Array<number>(n).fill(0);
  if (type === 'Unigram') {
    for (let id = 0; id < n; id++) scores[id] = unigramScores[id] ?? (types[id] === TokenType.UNUSED ? -1000 : 0);
  } else {
    const merges = Array.isArray(model.merges) ? (model.merges as unknown[]) : [];
    const firstRank = new Map<number, number>();
    merges.forEach((m, rank) => {
      let a: unknown;
      let b: unknown;
      if (typeof m === 'string') {
        const sp = m.indexOf(' ');
        a = m.slice(0, sp);
        b = m.slice(sp + 1);
      } else if (Array.isArray(m)) [a, b] = m;
      if (typeof a !== 'string' || typeof b !== 'string') throw new LayerquantError('E_BAD_CONFIG', `bad merge at rank ${rank}`, { file });
      const id = idOf.get(a + b);
      if (id !== undefined && !firstRank.has(id)) firstRank.set(id, rank);
    });
    const normal = [];
    for (let id = 0; id < n; id++) if (types[id] === TokenType.NORMAL) normal.push(id);
    normal.sort((x, y) => (firstRank.get(x) ?? Infinity) - (firstRank.get(y) ?? Infinity) || x - y);
    normal.forEach((id, pos) => (scores[id] = -pos));
    for (let id = 0; id < n; id++) if (types[id] === TokenType.UNUSED) scores[id] = -1000;
  }

  // Special ids and flags.
  const cfg = (opts.configJson ? readJson(opts.configJson) : {}) as Record<string, unknown>;
  const special = (key: 'bos_token' | 'eos_token' | 'unk_token', fallbackPiece: string | undefined, fallbackId?: number): number | undefined => {
    const c = tokenContent(cfg[key]);
    const byName = c === undefined ? undefined : idOf.get(c);
    if (byName !== undefined) return byName;
    if (fallbackId !== undefined && fallbackId >= 0 && fallbackId < n) return fallbackId;
    return fallbackPiece === undefined ? undefined : idOf.get(fallbackPiece);
  };
  const bos = special('bos_token', '<s>', opts.bosTokenId);
  const eos = special('eos_token', '</s>', opts.eosTokenId);
  const unk = special('unk_token', unkPiece ?? '<unk>');
  const addBos = typeof cfg.add_bos_token === 'boolean' ? cfg.add_bos_token : true;
  const addEos = typeof cfg.add_eos_token === 'boolean' ? cfg.add_eos_token : false;

  const kv: GgufKv[] = [
    { key: 'tokenizer.ggml.model', type: GgufType.STRING, value: 'llama' },
    { key: 'tokenizer.ggml.tokens', type: GgufType.ARRAY, value: { itemType: GgufType.STRING, items: tokens } },
    { key: 'tokenizer.ggml.scores', type: GgufType.ARRAY, value: { itemType: GgufType.FLOAT32, items: scores } },
    { key: 'tokenizer.ggml.token_type', type: GgufType.ARRAY, value: { itemType: GgufType.INT32, items: types } },
  ];
  const u32 = (key: string, v: number | undefined): void => {
    if (v !== undefined) kv.push({ key, type: GgufType.UINT32, value: v });
  };
  u32('tokenizer.ggml.bos_token_id', bos);
  u32('tokenizer.ggml.eos_token_id', eos);
  u32('tokenizer.ggml.unknown_token_id', unk);
  kv.push({ key: 'tokenizer.ggml.add_bos_token', type: GgufType.BOOL, value: addBos });
  kv.push({ key: 'tokenizer.ggml.add_eos_token', type: GgufType.BOOL, value: addEos });
  if (!addsSpacePrefix(tj)) kv.push({ key: 'tokenizer.ggml.add_space_prefix', type: GgufType.BOOL, value: false });
  return kv;
}
