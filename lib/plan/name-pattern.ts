/**
 * Tensor-name patterns as llama-quantize reads them (`--tensor-type`, `--tensor-type-file`): an
 * ECMAScript regular expression, lowercased (A–Z only, C locale), searched anywhere in the name
 * (std::regex_search over the name's bytes).
 *
 * Compiled to a Thompson NFA and run in time linear in the name, never by backtracking: a pattern
 * from a file is untrusted input, and a backtracking engine (RegExp included) can take exponential
 * time on patterns such as `(a*)*b`. Whether a pattern matches is the same for both engines, so
 * llama-quantize's first-match rule is kept. The regular part of ECMAScript is accepted: literals,
 * escapes (\d \w \s and negations, \xHH, \uHHHH up to FF, \t \n \v \f \r \0 \cX, identity escapes),
 * `.`, classes with ranges and negation, groups (capturing or `(?:`), `|`, `* + ? {n} {n,} {n,m}`
 * (lazy or not), `^ $ \b \B`. Backreferences and lookaheads are refused (E_BAD_PLAN), as are
 * constructs whose reading differs between engines (a stray `]`, `{` or `}`).
 */
import { LayerquantError } from '../errors.js';

/** A compiled pattern. */
export interface NamePattern {
  /** The pattern as written (before lowercasing; invalid UTF-8 shown replaced). */
  source: string;
  /** True when the pattern occurs in `name` (llama.cpp's std::regex_search). */
  test(name: string): boolean;
}

type CharSet = Uint8Array; // 256 flags, one per byte value
type Node =
  | { k: 'set'; set: CharSet }
  | { k: 'cat'; items: Node[] }
  | { k: 'alt'; items: Node[] }
  | { k: 'rep'; item: Node; min: number; max: number } // max = Infinity for unbounded
  | { k: 'assert'; what: '^' | '$' | 'b' | 'B' };

const MAX_REPEAT = 1000;
const MAX_STATES = 20_000;

const setOf = (pred: (c: number) => boolean): CharSet => {
  const s = new Uint8Array(256);
  for (let c = 0; c < 256; c++) s[c] = pred(c) ? 1 : 0;
  return s;
};
const isWord = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const CLASS: Record<string, CharSet> = {
  d: setOf(isDigit),
  D: setOf((c) => !isDigit(c)),
  w: setOf(isWord),
  W: setOf((c) => !isWord(c)),
  s: setOf(isSpace),
  S: setOf((c) => !isSpace(c)),
};
const DOT = setOf((c) => c !== 10 && c !== 13);
const CONTROL: Record<string, number> = { t: 9, n: 10, v: 11, f: 12, r: 13 };

/** Lowercases A–Z only, as C's tolower in the "C" locale does. */
function lowerAscii(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

class Parser {
  private i = 0;
  constructor(
    private readonly p: string,
    private readonly fail: (msg: string) => never,
  ) {}

  parse(): Node {
    const n = this.disjunction();
    if (this.i < this.p.length) this.fail(`unexpected "${this.p[this.i]}" at ${this.i}`);
    return n;
  }

  private peek(): string | undefined {
    return this.p[this.i];
  }

  private disjunction(): Node {
    const items = [this.alternative()];
    while (this.peek() === '|') {
      this.i++;
      items.push(this.alternative());
    }
    return items.length === 1 ? items[0]! : { k: 'alt', items };
  }

  private alternative(): Node {
    const items: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) items.push(this.term());
    return { k: 'cat', items };
  }

  private term(): Node {
    const c = this.peek()!;
    if (c === '^' || c === '$') {
      this.i++;
      return { k: 'assert', what: c };
    }
    if (c === '\\' && (this.p[this.i + 1] === 'b' || this.p[this.i + 1] === 'B')) {
      this.i += 2;
      return { k: 'assert', what: this.p[this.i - 1] as 'b' | 'B' };
    }
    const atom = this.atom();
    return this.quantified(atom);
  }

  private quantified(atom: Node): Node {
    const c = this.peek();
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.p.slice(this.i));
      if (!m) this.fail(`"{" at ${this.i} does not start a quantifier`);
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) this.fail(`a repeat count above ${MAX_REPEAT}`);
      if (max < min) this.fail(`quantifier {${min},${max}} out of order`);
      this.i += m[0].length - 1;
    } else return atom;
    this.i++;
    if (this.peek() === '?') this.i++; // lazy: the same set of matches
    const next = this.peek();
    if (next === '*' || next === '+' || next === '?' || next === '{') this.fail(`nothing to repeat at ${this.i}`);
    return { k: 'rep', item: atom, min, max };
  }

  private atom(): Node {
    const c = this.peek()!;
    const at = this.i++;
    if (c === '.') return { k: 'set', set: DOT };
    if (c === '[') return { k: 'set', set: this.charClass() };
    if (c === '\\') return { k: 'set', set: this.escape(false) };
    if (c === '(') {
      if (this.peek() === '?') {
        if (this.p[this.i + 1] !== ':') this.fail(`lookaheads are not supported (at ${at})`);
        this.i += 2;
      }
      const inner = this.disjunction();
      if (this.peek() !== ')') this.fail('unbalanced "("');
      this.i++;
      return inner;
    }
    if (c === ')') this.fail('unbalanced ")"');
    if (c === '*' || c === '+' || c === '?') this.fail(`nothing to repeat at ${at}`);
    if (c === ']' || c === '{' || c === '}') this.fail(`a bare "${c}" at ${at} (escape it)`);
    return { k: 'set', set: setOf((x) => x === c.charCodeAt(0)) };
  }

  /** An escape after `\`; inside a class `\b` is a backspace and class escapes stay sets. */
  private escape(inClass: boolean): CharSet {
    const c = this.peek();
    if (c === undefined) this.fail('a pattern cannot end with "\\"');
    this.i++;
    if (CLASS[c]) return CLASS[c]!;
    const one = (v: number): CharSet => setOf((x) => x === v);
    if (CONTROL[c] !== undefined) return one(CONTROL[c]!);
    if (inClass && c === 'b') return one(8);
    if (c === '0' && !isDigit(this.p.charCodeAt(this.i))) return one(0);
    if (c >= '1' && c <= '9') this.fail('backreferences are not supported');
    if (c === 'x' || c === 'u') {
      const n = c === 'x' ? 2 : 4;
      const hex = this.p.slice(this.i, this.i + n);
      if (!new RegExp(`^[0-9a-f]{${n}}$`).test(hex)) this.fail(`\\${c} needs ${n} hex digits`);
      const v = parseInt(hex, 16);
      if (v > 0xff) this.fail(`\\u${hex} is not a byte`);
      this.i += n;
      return one(v);
    }
    if (c === 'c') {
      const l = this.p.charCodeAt(this.i);
      if (!((l >= 97 && l <= 122) || (l >= 65 && l <= 90))) this.fail('\\c needs a letter');
      this.i++;
      return one(l % 32);
    }
    if (isWord(c.charCodeAt(0))) this.fail(`unknown escape \\${c}`);
    return one(c.charCodeAt(0));
  }

  private charClass(): CharSet {
    const set = new Uint8Array(256);
    let negate = false;
    if (this.peek() === '^') {
      negate = true;
      this.i++;
    }
    const member = (): CharSet | number => {
      const c = this.peek();
      if (c === undefined) this.fail('unterminated "["');
      this.i++;
      if (c !== '\\') return c.charCodeAt(0);
      const esc = this.escape(true);
      let only = -1;
      let count = 0;
      for (let x = 0; x < 256; x++) if (esc[x]) ((only = x), count++);
      return count === 1 ? only : esc;
    };
    if (this.peek() === ']') this.fail('an empty class "[]" (engines read it differently)');
    while (this.peek() !== ']') {
      if (this.peek() === '[' && [':', '=', '.'].includes(this.p[this.i + 1] ?? '')) this.fail('POSIX classes ([:name:]) are not supported');
      const a = member();
      if (this.peek() === '-' && this.p[this.i + 1] !== ']' && this.p[this.i + 1] !== undefined) {
        this.i++;
        const b = member();
        if (typeof a !== 'number' || typeof b !== 'number') this.fail('a class escape cannot bound a range');
        if (b < a) this.fail('a range out of order in "[…]"');
        for (let x = a; x <= b; x++) set[x] = 1;
      } else if (typeof a === 'number') set[a] = 1;
      else for (let x = 0; x < 256; x++) set[x] ||= a[x]!;
    }
    this.i++;
    if (negate) for (let x = 0; x < 256; x++) set[x] = set[x] ? 0 : 1;
    return set;
  }
}

// NFA: state i has a kind; `set` states consume one byte, `split` has two epsilon exits.
interface State {
  k: 'set' | 'split' | 'assert' | 'match';
  set?: CharSet;
  what?: '^' | '$' | 'b' | 'B';
  out: number;
  out2: number;
}

function compile(root: Node, fail: (msg: string) => never): { states: State[]; start: number } {
  const states: State[] = [];
  const add = (s: State): number => {
    if (states.length >= MAX_STATES) fail('the pattern is too large');
    states.push(s);
    return states.length - 1;
  };
  // Builds `n` so that it continues at `next`; returns its entry state.
  const build = (n: Node, next: number): number => {
    switch (n.k) {
      case 'set':
        return add({ k: 'set', set: n.set, out: next, out2: -1 });
      case 'assert':
        return add({ k: 'assert', what: n.what, out: next, out2: -1 });
      case 'cat': {
        let entry = next;
        for (let j = n.items.length - 1; j >= 0; j--) entry = build(n.items[j]!, entry);
        return entry;
      }
      case 'alt': {
        const entries = n.items.map((it) => build(it, next));
        let entry = entries[entries.length - 1]!;
        for (let j = entries.length - 2; j >= 0; j--) entry = add({ k: 'split', out: entries[j]!, out2: entry });
        return entry;
      }
      case 'rep': {
        let entry = next;
        if (n.max === Infinity) {
          const loop = add({ k: 'split', out: -1, out2: next });
          states[loop]!.out = build(n.item, loop);
          entry = loop;
        } else {
          // Optional copies: each either matches once more and goes on to the next copy, or leaves.
          for (let j = n.min; j < n.max; j++) entry = add({ k: 'split', out: build(n.item, entry), out2: next });
        }
        for (let j = 0; j < n.min; j++) entry = build(n.item, entry);
        return entry;
      }
    }
  };
  const match = add({ k: 'match', out: -1, out2: -1 });
  return { states, start: build(root, match) };
}

/**
 * Compiles a llama-quantize tensor-name pattern (a string, or its bytes as a file holds them);
 * E_BAD_PLAN (naming `file`) when it cannot be read.
 */
export function compileNamePattern(pattern: string | Uint8Array, file?: string): NamePattern {
  const raw = typeof pattern === 'string' ? Buffer.from(pattern, 'utf8') : Buffer.from(pattern);
  const source = raw.toString('utf8');
  const fail = (msg: string): never => {
    throw new LayerquantError('E_BAD_PLAN', `Tensor pattern "${source.slice(0, 200)}": ${msg}`, file === undefined ? {} : { file });
  };
  const bytes = lowerAscii(raw.toString('latin1'));
  const { states, start } = compile(new Parser(bytes, fail).parse(), fail);
  const n = states.length;
  return {
    source,
    test(name: string): boolean {
      const s = Buffer.from(name, 'utf8');
      const word = (i: number): boolean => i >= 0 && i < s.length && isWord(s[i]!);
      let cur: number[] = [];
      let mark = new Int32Array(n).fill(-1);
      let generation = 0;
      // Adds `st` and everything reachable from it without consuming a byte, at position `pos`.
      const close = (st: number, pos: number, into: number[]): boolean => {
        const stack = [st];
        while (stack.length) {
          const i = stack.pop()!;
          if (i < 0 || mark[i] === generation) continue;
          mark[i] = generation;
          const q = states[i]!;
          if (q.k === 'match') return true;
          if (q.k === 'set') into.push(i);
          else if (q.k === 'split') stack.push(q.out2, q.out);
          else {
            const boundary = word(pos - 1) !== word(pos);
            const ok = q.what === '^' ? pos === 0 : q.what === '$' ? pos === s.length : q.what === 'b' ? boundary : !boundary;
            if (ok) stack.push(q.out);
          }
        }
        return false;
      };
      for (let pos = 0; pos <= s.length; pos++) {
        // A search: a new attempt starts at every position.
        if (close(start, pos, cur)) return true;
        if (pos === s.length) break;
        const c = s[pos]!;
        const next: number[] = [];
        generation++;
        if (generation > 0x3fffffff) {
          mark = new Int32Array(n).fill(-1);
          generation = 0;
        }
        for (const i of cur) if (states[i]!.set![c] && close(states[i]!.out, pos + 1, next)) return true;
        cur = next;
      }
      return false;
    },
  };
}
