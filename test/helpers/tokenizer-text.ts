/**
 * Texts for tokenizer checks: a mixed text (English, digits, emoji, code, runs of spaces and
 * newlines, CRLF, the words constructor/toString/valueOf that a plain-object vocabulary gets
 * wrong), and the reader of llama.cpp's `.inp`/`.out` test vectors.
 */
import { readFileSync } from 'node:fs';

/** The mixed text every tokenizer test encodes. */
export const MIXED_TEXT = [
  'Hello world! The year 2024 had 12345 items, 3.14 and 1,000,000.',
  '  Emoji: 🦙🚀 😶‍🌫️ ✅👍🏽 and 你好，世界 — “quotes” café naïve Ünïcödé',
  '',
  '',
  '    def constructor(self):\r\n        return self.toString() + valueOf(x)  # code {a: [1, 2]}\r\n',
  '\tclass A { constructor() { this.valueOf = () => 42; } toString() { return `x=${this}`; } }',
  "I've been 'told he's there, 'RE you sure? We'Ve a'lL   spaces   and\t\ttabs",
  '\n\n\n   \n',
].join('\n');

/** llama.cpp's vocabulary test vectors: `<vocab>.inp` (texts split by the marker line) and `<vocab>.out` (ids). */
export function readVocabTests(vocab: string): { text: string; ids: number[] }[] {
  // Each text is followed by the marker line, so the split leaves an empty tail (not a test).
  const inp = readFileSync(`${vocab}.inp`, 'utf8').split('\n__ggml_vocab_test__\n');
  if (inp[inp.length - 1] === '') inp.pop();
  const out = readFileSync(`${vocab}.out`, 'utf8').split('\n');
  if (out[out.length - 1] === '') out.pop();
  if (inp.length !== out.length) throw new Error(`${vocab}: ${inp.length} texts but ${out.length} id lines`);
  return inp.map((text, i) => ({ text, ids: out[i]!.trim() === '' ? [] : out[i]!.trim().split(/\s+/).map(Number) }));
}
