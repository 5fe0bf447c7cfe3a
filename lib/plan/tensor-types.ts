/**
 * A plan as llama-quantize's `--tensor-type-file`: `pattern=type` entries separated by white space,
 * which llama-quantize replays into the same tensor types (test/plan/tensor-types-llama.test.ts runs
 * it). Each pattern is anchored (`^…$`) and names one role across a set of blocks
 * (`^blk\.(0|3|7)\.attn_v\.weight$=q6_K`) or one tensor outside the blocks, so no two patterns
 * match one tensor and llama.cpp's first-match rule cannot change the outcome. Only the tensors
 * llama-quantize quantizes are listed; the others (norms, 1-D tensors) keep their source type
 * there, so a plan that stores one of them otherwise cannot be replayed exactly (listed in
 * `unreplayable`). The ftype to pass with the file is the plan's `general.file_type`
 * (presets.ts `fileTypeOf`); overrides only apply under a quantized ftype, so an all-F16 mix takes Q8_0.
 *
 * Read back (`--plan types.txt`), every entry is checked as llama-quantize checks it (a name and a
 * type on either side of the first `=`; the type a ggml type name, any case) and its pattern
 * compiled by name-pattern.ts; a tensor takes the first pattern found in its name, then
 * llama.cpp's fallback for its row length. Tensors no pattern names follow the preset given with
 * the file (llama-quantize's ftype argument), or are an E_BAD_PLAN without one.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LayerquantError } from '../errors.js';
import { ggmlTypeInfo } from '../io/ggml-types.js';
import { compileNamePattern } from './name-pattern.js';
import { type LlamaFtype, type PresetModel, type PresetOptions, type TypeOverride, allowsQuantization, fallbackType, fileTypeOf, ftypeById, ggmlTypeIdOf, isGgmlTypeName, presetTensorTypes } from './presets.js';

/** A tensor as the file sees it: its name, shape and stored format (ggml spelling). */
export interface TypedTensor {
  name: string;
  dims: readonly number[];
  format: string;
}

/** What {@link tensorTypeFileText} gives. */
export interface TensorTypeFile {
  /** The file's text (one entry per line). */
  text: string;
  /** The ftype to pass to llama-quantize with it. */
  ftype: LlamaFtype;
  /** Tensors llama-quantize keeps in their source type, which the plan stores in another format. */
  unreplayable: string[];
}

/** A byte of a tensor name as a pattern: `\.`, or `\xHH` for anything but [a-z0-9_] (survives lowercasing). */
function escapeName(name: string): string {
  let out = '';
  for (const b of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[a-z0-9_]/.test(c)) out += c;
    else if (c === '.') out += '\\.';
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * The tensor-type file for `tensors` (every tensor of the output, in any order). `sourceFormat`
 * gives each tensor's source format, to find those llama-quantize would not touch.
 */
export function tensorTypeFileText(tensors: readonly TypedTensor[], sourceFormat: (name: string) => string | undefined): TensorTypeFile {
  const unreplayable: string[] = [];
  // role suffix → format → block indices; non-block tensors keep their full name.
  const groups = new Map<string, Map<string, number[]>>();
  const singles: [string, string][] = [];
  for (const t of tensors) {
    ggmlTypeIdOf(t.format, t.name);
    if (!allowsQuantization(t.name, t.dims)) {
      if (sourceFormat(t.name)?.toLowerCase() !== t.format.toLowerCase()) unreplayable.push(t.name);
      continue;
    }
    const m = /^blk\.(0|[1-9]\d*)\.(.+)$/.exec(t.name);
    if (!m) {
      singles.push([t.name, t.format]);
      continue;
    }
    const byFormat = groups.get(m[2]!) ?? new Map<string, number[]>();
    groups.set(m[2]!, byFormat);
    const list = byFormat.get(t.format) ?? [];
    byFormat.set(t.format, list);
    list.push(Number(m[1]));
  }
  const lines: string[] = [];
  for (const [name, format] of singles) lines.push(`^${escapeName(name)}$=${canonical(format)}`);
  for (const [suffix, byFormat] of groups) {
    for (const [format, blocks] of byFormat) {
      const sorted = [...new Set(blocks)].sort((a, b) => a - b);
      const index = sorted.length === 1 ? String(sorted[0]) : `(${sorted.join('|')})`;
      lines.push(`^blk\\.${index}\\.${escapeName(suffix)}$=${canonical(format)}`);
    }
  }
  const ftype = ftypeById(fileTypeOf(tensors)) ?? ftypeById(7)!;
  const quantized = ftype.defaultType !== 0 && ftype.defaultType !== 1 && ftype.defaultType !== 30;
  return { text: lines.length ? `${lines.join('\n')}\n` : '', ftype: quantized ? ftype : ftypeById(7)!, unreplayable };
}

/** Writes the tensor-type file (temp file + rename). */
export function writeTensorTypeFile(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.lq-tmp-${process.pid}`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (cause) {
    throw new LayerquantError('E_IO', 'Could not write the tensor-type file', { file: path, cause });
  }
}

/** ggml's own spelling of a type name (`Q4_K` → `q4_K`). */
function canonical(format: string): string {
  return ggmlTypeInfo(ggmlTypeIdOf(format))!.name;
}

/** Parses a tensor-type file's text into overrides, in file order; E_BAD_PLAN naming `file`. */
export function parseTensorTypeFile(text: string | Uint8Array, file?: string): TypeOverride[] {
  const where = file === undefined ? {} : { file };
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  if (bytes.includes(0)) throw new LayerquantError('E_BAD_PLAN', 'A tensor-type file is text; this one holds a NUL byte', where);
  const out: TypeOverride[] = [];
  // Bytes as latin1 characters: patterns are matched byte by byte, as std::regex<char> does.
  for (const entry of bytes.toString('latin1').split(/[ \t\n\v\f\r]+/)) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq < 0) throw new LayerquantError('E_BAD_PLAN', `Malformed entry "${entry.slice(0, 80)}" (expected pattern=type)`, where);
    if (eq === 0) throw new LayerquantError('E_BAD_PLAN', `Entry "${entry.slice(0, 80)}" has no tensor pattern`, where);
    const type = entry.slice(eq + 1);
    if (type === '') throw new LayerquantError('E_BAD_PLAN', `Entry "${entry.slice(0, 80)}" has no type`, where);
    if (!isGgmlTypeName(type)) throw new LayerquantError('E_BAD_PLAN', `Entry "${entry.slice(0, 80)}": ${type.slice(0, 40)} is not a ggml type`, where);
    out.push({ pattern: compileNamePattern(Buffer.from(entry.slice(0, eq), 'latin1'), file), format: canonical(type) });
  }
  return out;
}

/** Reads and parses a tensor-type file. */
export function readTensorTypeFile(path: string): TypeOverride[] {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (cause) {
    throw new LayerquantError('E_NOT_FOUND', 'Could not read the tensor-type file', { file: path, cause });
  }
  return parseTensorTypeFile(data, path);
}

/**
 * The format of every tensor of `model` under `overrides`, as llama-quantize would give them: with
 * `preset`, exactly llama-quantize with that ftype and the file; without, every tensor it would
 * quantize must be named by a pattern (E_BAD_PLAN naming the first that is not), the others keep
 * their source format.
 */
export function tensorTypesFromOverrides(model: PresetModel, overrides: readonly TypeOverride[], preset?: LlamaFtype, opts: PresetOptions = {}, file?: string): Map<string, string> {
  if (preset) return presetTensorTypes(model, preset, { ...opts, overrides });
  const out = new Map<string, string>();
  for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) {
    if (!allowsQuantization(t.name, t.dims)) {
      out.set(t.name, t.format);
      continue;
    }
    const o = overrides.find((x) => x.pattern.test(t.name));
    if (!o) throw new LayerquantError('E_BAD_PLAN', 'No pattern of the tensor-type file names this tensor (give a preset for the others, as llama-quantize takes an ftype)', { ...(file === undefined ? {} : { file }), tensor: t.name });
    out.set(t.name, ggmlTypeInfo(fallbackType(ggmlTypeIdOf(o.format, t.name), t.dims[0] ?? 1, t.name))!.name);
  }
  return out;
}
