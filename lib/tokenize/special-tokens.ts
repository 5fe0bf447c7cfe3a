/**
 * Special token ids, whether BOS/EOS are added, and the chat template of a Hugging Face tokenizer,
 * by the rules of llama.cpp's converter (gguf-py `SpecialVocab`), which follow what transformers
 * does when it encodes with special tokens:
 * - ids come from tokenizer_config.json's `<type>_token` (a string or `{content}`), looked up among
 *   tokenizer.json's added tokens; types still unset take config.json's `<type>_token_id` when it
 *   is an integer inside the vocabulary;
 * - add-BOS/EOS come from the post-processor (a `TemplateProcessing` whose single template starts
 *   or ends with a special token; `RobertaProcessing`), overridden by tokenizer_config.json's
 *   `add_bos_token` / `add_eos_token` when they are booleans. Llama 3 folders say nothing in
 *   tokenizer_config.json and add BOS through their template;
 * - the chat template is tokenizer_config.json's `chat_template`, else `chat_template.jinja`, else
 *   `chat_template.json`'s `chat_template`.
 * Without a tokenizer_config.json only config.json's ids and the post-processor's flags apply.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LayerquantError } from '../errors.js';

type Json = Record<string, unknown>;

/** Special token types llama.cpp stores (`tokenizer.ggml.<type>_token_id`). */
export type SpecialType = 'bos' | 'eos' | 'unk' | 'sep' | 'pad' | 'cls' | 'mask' | 'eot' | 'eom';

/** One chat template: the default one has name `default`. */
export interface ChatTemplate {
  name: string;
  template: string;
}

/** What {@link specialTokens} finds. */
export interface SpecialTokens {
  /** Ids by type; only the types the files determine. */
  ids: Partial<Record<SpecialType, number>>;
  /** add_bos / add_eos / add_sep, only where the files say. */
  add: Partial<Record<'bos' | 'eos' | 'sep', boolean>>;
  /** The chat templates, default first; empty when there is none. */
  chatTemplates: ChatTemplate[];
}

/** Inputs of {@link specialTokens}: parsed files (undefined when absent) and where they came from. */
export interface SpecialTokenFiles {
  tokenizerJson?: Json;
  tokenizerConfig?: Json;
  /** The model's config.json. */
  config?: Json;
  /** Folder for chat_template.jinja / chat_template.json. */
  folder?: string;
  /** Vocabulary size: ids at or above it are ignored. */
  nVocab?: number;
  /** Path of tokenizer_config.json, for messages. */
  configFile?: string;
}

function content(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

function specialTokenId(item: unknown): string | undefined {
  const s = (item as { SpecialToken?: { id?: unknown } } | undefined)?.SpecialToken?.id;
  return typeof s === 'string' ? s : undefined;
}

/** Reads a JSON file as an object, or throws E_BAD_CONFIG naming it. */
export function readJsonObject(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LayerquantError('E_NOT_FOUND', `cannot read: ${(err as Error).message}`, { file, cause: err });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new LayerquantError('E_BAD_CONFIG', `not valid JSON: ${(err as Error).message}`, { file, cause: err });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new LayerquantError('E_BAD_CONFIG', 'expected a JSON object', { file });
  return v as Json;
}

function chatTemplates(cfg: Json, folder: string | undefined, file: string | undefined): ChatTemplate[] {
  let t: unknown = cfg.chat_template;
  let where = `${file ?? 'tokenizer_config.json'}: "chat_template"`;
  if (t === undefined && folder !== undefined) {
    const jinja = join(folder, 'chat_template.jinja');
    const json = join(folder, 'chat_template.json');
    if (existsSync(jinja)) {
      t = readFileSync(jinja, 'utf8');
      where = jinja;
    } else if (existsSync(json)) {
      t = readJsonObject(json).chat_template;
      where = `${json}: "chat_template"`;
    }
  }
  if (t === undefined || t === null) return [];
  if (typeof t === 'string') return [{ name: 'default', template: t }];
  if (Array.isArray(t)) {
    const out: ChatTemplate[] = [];
    for (const [i, c] of t.entries()) {
      const name = (c as Json | null)?.name;
      const template = (c as Json | null)?.template;
      if (typeof name !== 'string' || typeof template !== 'string') {
        throw new LayerquantError('E_BAD_CONFIG', `${where}[${i}] must be {"name": string, "template": string}`, file ? { file } : {});
      }
      out.push({ name, template });
    }
    return out.sort((a, b) => Number(b.name === 'default') - Number(a.name === 'default'));
  }
  throw new LayerquantError('E_BAD_CONFIG', `${where} must be a string or a list of {name, template}`, file ? { file } : {});
}

/** Special ids, add flags and chat templates of a HF tokenizer (rules in the file comment). */
export function specialTokens(f: SpecialTokenFiles): SpecialTokens {
  const ids: SpecialTokens['ids'] = {};
  const add: SpecialTokens['add'] = {};
  const nVocab = f.nVocab ?? Infinity;
  const set = (type: SpecialType, id: unknown): void => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= nVocab || ids[type] !== undefined) return;
    ids[type] = id;
  };
  const cfg: Json | undefined = f.tokenizerConfig ? { ...f.tokenizerConfig } : undefined;
  const types: SpecialType[] = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'];
  if (f.tokenizerJson) {
    let bos = content(cfg?.bos_token);
    let cls = content(cfg?.cls_token);
    let eos = content(cfg?.eos_token);
    const sep = content(cfg?.sep_token);
    if (!bos && cls && cfg) cfg.bos_token = bos = cls;
    if (!eos && sep && cfg) cfg.eos_token = eos = sep;
    const pp = f.tokenizerJson.post_processor as Json | null | undefined;
    const processors = (pp && Array.isArray(pp.processors) ? pp.processors : pp ? [pp] : []) as Json[];
    for (const p of processors) {
      if (p?.type === 'RobertaProcessing') {
        add.bos = add.eos = add.sep = true;
        if (!cls && cfg) cfg.cls_token = cls = (p.cls as unknown[] | undefined)?.[0] as string | undefined ?? bos;
        if (!sep && cfg) cfg.sep_token = (p.sep as unknown[] | undefined)?.[0] ?? eos;
      } else if (p?.type === 'TemplateProcessing') {
        const single = Array.isArray(p.single) ? p.single : [];
        if (single.length > 1) {
          const first = specialTokenId(single[0]);
          if (first) {
            if (cfg && first !== bos && first !== cls) {
              if (!bos) cfg.bos_token = bos = first;
              if (!cls) cfg.cls_token = cls = first;
            }
            add.bos = !cfg || first === bos || first === cls;
          }
          const last = specialTokenId(single[single.length - 1]);
          if (last) {
            if (cfg && last !== eos) {
              // The trailing token becomes EOS; the configured one is kept as end-of-turn.
              if (!types.includes('eot')) {
                types.push('eot');
                cfg.eot_token = eos;
              } else if (!types.includes('eom')) {
                types.push('eom');
                cfg.eom_token = eos;
              }
              cfg.eos_token = eos = last;
            }
            add.eos = true;
          }
        }
      }
    }
  }
  let templates: ChatTemplate[] = [];
  if (cfg) {
    templates = chatTemplates(cfg, f.folder, f.configFile);
    const added = (f.tokenizerJson?.added_tokens as { id?: unknown; content?: unknown }[] | undefined) ?? [];
    for (const type of types) {
      const flag = cfg[`add_${type}_token`];
      if (typeof flag === 'boolean' && (type === 'bos' || type === 'eos' || type === 'sep')) add[type] = flag;
      const c = content(cfg[`${type}_token`]);
      if (c === undefined) continue;
      set(type, added.find((a) => a?.content === c)?.id);
    }
  }
  if (f.config) {
    const text = (f.config.text_config ?? {}) as Json;
    for (const type of types) set(type, f.config[`${type}_token_id`] ?? text[`${type}_token_id`]);
  }
  return { ids, add, chatTemplates: templates };
}
