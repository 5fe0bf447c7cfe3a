/**
 * SentencePiece `tokenizer.model` (a protobuf `ModelProto`), read by our own small protobuf
 * parser: the pieces (text, score, type) and the few trainer and normalizer fields llama.cpp's
 * converter uses. Every length is checked against the bytes that remain; anything malformed is
 * E_BAD_CONFIG naming the file and the field.
 *
 * Field numbers (sentencepiece_model.proto): ModelProto 1 = pieces, 2 = trainer_spec,
 * 3 = normalizer_spec; SentencePiece 1 = piece, 2 = score, 3 = type; TrainerSpec 3 = model_type,
 * 35 = byte_fallback, 40–43 = unk/bos/eos/pad ids; NormalizerSpec 1 = name, 3 = add_dummy_prefix,
 * 4 = remove_extra_whitespaces.
 */
import { readFileSync } from 'node:fs';
import { LayerquantError } from '../errors.js';

/** SentencePiece piece types; the numbers are llama.cpp's token types too. */
export const SpType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** What {@link readSentencePiece} returns. */
export interface SentencePieceModel {
  pieces: string[];
  scores: number[];
  types: number[];
  /** 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  /** The normalizer puts "▁" before the text. */
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number, readonly file: string, readonly where: string) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new LayerquantError('E_BAD_CONFIG', `not a SentencePiece model: ${this.where}: ${what} at byte ${this.pos}`, { file: this.file });
  }

  varint(): bigint {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A varint as a signed 32-bit value (protobuf int32: negative numbers are 10-byte varints). */
  int32(): number {
    return Number(BigInt.asIntN(32, this.varint()));
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (n > BigInt(this.end - this.pos)) this.fail(`length ${n} runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + Number(n));
    this.pos += Number(n);
    return out;
  }

  sub(where: string): Reader {
    const b = this.bytes();
    return new Reader(this.buf, b.byteOffset - this.buf.byteOffset, b.byteOffset - this.buf.byteOffset + b.length, this.file, where);
  }

  float(): number {
    if (this.end - this.pos < 4) this.fail('truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  string(): string {
    try {
      return utf8.decode(this.bytes());
    } catch {
      return this.fail('string is not valid UTF-8');
    }
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.advance(4);
    else this.fail(`unsupported wire type ${wire}`);
  }

  advance(n: number): void {
    if (this.end - this.pos < n) this.fail('truncated field');
    this.pos += n;
  }

  /** Calls `f(field, wire)` for each field until the end. */
  fields(f: (field: number, wire: number) => void): void {
    while (this.pos < this.end) {
      const key = this.varint();
      const field = Number(key >> 3n);
      const wire = Number(key & 7n);
      if (field === 0) this.fail('field number 0');
      f(field, wire);
    }
  }

  expect(wire: number, want: number, name: string): void {
    if (wire !== want) this.fail(`${name} has wire type ${wire}, expected ${want}`);
  }
}

/** Parses the bytes of a `tokenizer.model`. */
export function parseSentencePiece(buf: Uint8Array, file: string): SentencePieceModel {
  const m: SentencePieceModel = {
    pieces: [], scores: [], types: [], modelType: 1, byteFallback: false,
    unkId: 0, bosId: 1, eosId: 2, padId: -1, addDummyPrefix: true, removeExtraWhitespaces: true,
  };
  const top = new Reader(buf, 0, buf.length, file, 'ModelProto');
  top.fields((field, wire) => {
    if (field === 1) {
      top.expect(wire, 2, 'pieces');
      const i = m.pieces.length;
      const r = top.sub(`pieces[${i}]`);
      let piece: string | undefined;
      let score = 0;
      let type: number = SpType.NORMAL;
      r.fields((f, w) => {
        if (f === 1) { r.expect(w, 2, 'piece'); piece = r.string(); }
        else if (f === 2) { r.expect(w, 5, 'score'); score = r.float(); }
        else if (f === 3) {
          r.expect(w, 0, 'type');
          type = r.int32();
          if (type < 1 || type > 6) r.fail(`type ${type} is not a SentencePiece piece type (1–6)`);
        } else r.skip(w);
      });
      m.pieces.push(piece ?? r.fail('piece has no text (field 1)'));
      m.scores.push(score);
      m.types.push(type);
    } else if (field === 2) {
      top.expect(wire, 2, 'trainer_spec');
      const r = top.sub('trainer_spec');
      r.fields((f, w) => {
        if (f === 3) { r.expect(w, 0, 'model_type'); m.modelType = r.int32(); }
        else if (f === 35) { r.expect(w, 0, 'byte_fallback'); m.byteFallback = r.varint() !== 0n; }
        else if (f === 40) { r.expect(w, 0, 'unk_id'); m.unkId = r.int32(); }
        else if (f === 41) { r.expect(w, 0, 'bos_id'); m.bosId = r.int32(); }
        else if (f === 42) { r.expect(w, 0, 'eos_id'); m.eosId = r.int32(); }
        else if (f === 43) { r.expect(w, 0, 'pad_id'); m.padId = r.int32(); }
        else r.skip(w);
      });
    } else if (field === 3) {
      top.expect(wire, 2, 'normalizer_spec');
      const r = top.sub('normalizer_spec');
      r.fields((f, w) => {
        if (f === 3) { r.expect(w, 0, 'add_dummy_prefix'); m.addDummyPrefix = r.varint() !== 0n; }
        else if (f === 4) { r.expect(w, 0, 'remove_extra_whitespaces'); m.removeExtraWhitespaces = r.varint() !== 0n; }
        else r.skip(w);
      });
    } else top.skip(wire);
  });
  if (m.pieces.length === 0) throw new LayerquantError('E_BAD_CONFIG', 'not a SentencePiece model: ModelProto has no pieces (field 1)', { file });
  return m;
}

/** Reads and parses a `tokenizer.model` file. */
export function readSentencePiece(file: string): SentencePieceModel {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new LayerquantError('E_NOT_FOUND', `cannot read: ${(err as Error).message}`, { file, cause: err });
  }
  return parseSentencePiece(new Uint8Array(buf.buffer, buf.byteOffset, buf.length), file);
}
