/**
 * What a CLI subcommand is: its name, its options (each declared once, with its help line and
 * default, from which both util.parseArgs' configuration and `--help` are made, so the help lists
 * every flag and states the default that is used), and a run function that turns the parsed
 * values into one library call. Commands write through {@link CliIo} so tests can call them
 * in-process and capture output.
 */
/** Output streams of a command. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (progress bars); default process.stderr.isTTY. */
  tty?: boolean;
}

/** One option. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder of the value in help (`N`, `FILE`, `S`); string options only. */
  value?: string;
  /** The help text (may span lines with \n). */
  help: string;
  /** The default, given to util.parseArgs and printed in help as `(default …)`. */
  default?: string | boolean;
  /** Help heading the option is listed under (options without one come first). */
  group?: string;
  /** The option may be repeated; its value is then the list of every occurrence. */
  multiple?: boolean;
}

/** Parsed arguments handed to a command. */
export interface CommandArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** One subcommand. */
export interface CommandSpec {
  /** `inspect`, `convert`, … */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage after `layerquant `: positionals and required options, e.g. `convert <hf-folder> -o <out.gguf>`. */
  usage: string;
  options: Record<string, OptionSpec>;
  /** Lines after the options (notes, examples). */
  epilog?: string[];
  /** Returns the exit code (0 when omitted). Throws LayerquantError or UsageError on failure. */
  run(args: CommandArgs, io: CliIo): Promise<number | void>;
}

/** A usage error: wrong arguments. The CLI prints it with the command's usage and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The `--progress MODE` option every long command takes. */
export const progressOption: OptionSpec = {
  type: 'string', value: 'MODE', default: 'auto',
  help: 'auto: a bar with an ETA on stderr when it is a terminal; json: one JSON line per step on stderr; none',
};

/** The `--threads N` option. */
export const threadsOption: OptionSpec = { type: 'string', value: 'N', help: 'threads of the compute pool (default: all cores)' };

/** The `--json` option. */
export const jsonOption: OptionSpec = { type: 'boolean', help: 'print the result as JSON' };

/** The `--unknown P` option of commands that tokenize text. */
export const unknownOption: OptionSpec = {
  type: 'string', value: 'P', default: 'error',
  help: 'characters outside a vocabulary without byte fallback: error, skip or unk',
};

/** The options every long command ends its table with: --threads, --progress, --json. */
export const runOptions: Record<string, OptionSpec> = { threads: threadsOption, progress: progressOption, json: jsonOption };

/** The perplexity options of `eval` and `compare`: the text, the window size, how many windows. */
export function perplexityOptions(textHelp: string): Record<string, OptionSpec> {
  return {
    text: { type: 'string', value: 'FILE', help: `${textHelp} (required)` },
    context: { type: 'string', short: 'c', value: 'N', default: '512', help: 'window size' },
    chunks: { type: 'string', value: 'N', help: 'windows to score (default: all)' },
    unknown: unknownOption,
  };
}

/** `v` as a string option's value, or undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A positive integer option (`--threads`, `--tokens`…), or undefined when absent. */
export function positiveInt(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} expects a positive integer but received ${String(v)}`);
  return n;
}

/** A non-negative integer option (`--seed`), or undefined when absent. */
export function nonNegativeInt(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} expects a non-negative integer but received ${String(v)}`);
  return n;
}

/** A comma-separated list of numbers, or undefined when absent. */
export function numberList(v: unknown, name: string): number[] | undefined {
  if (v === undefined) return undefined;
  const xs = String(v).split(',').map((x) => Number(x.trim()));
  if (xs.length === 0 || !xs.every(Number.isFinite)) throw new UsageError(`--${name} expects a comma-separated list of numbers but received "${String(v)}"`);
  return xs;
}

/** A repeatable option's values, each also split at commas (`--x a --x b,c` → a, b, c). */
export function listOption(v: unknown): string[] {
  const all = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return all.flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter((x) => x.length > 0);
}

/** One of `choices`, or the usage error naming them. */
export function oneOf<T extends string>(v: unknown, name: string, choices: readonly T[]): T {
  if (typeof v === 'string' && (choices as readonly string[]).includes(v)) return v as T;
  throw new UsageError(`--${name} expects ${choices.join(', ')} but received "${String(v)}"`);
}

/** Exactly one positional argument (the model), or the usage error. */
export function onePositional(positionals: string[], what = '<model>'): string {
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? `missing ${what}` : `expected one ${what}, got ${positionals.length}`);
  return positionals[0]!;
}

/** The signal that interrupted the running command, if one did (runCli maps it to 128 + its number). */
let interruptedBy: 'SIGINT' | 'SIGTERM' | undefined;
export function interruption(): 'SIGINT' | 'SIGTERM' | undefined {
  return interruptedBy;
}

/**
 * SIGINT (Ctrl-C) and SIGTERM as an AbortSignal for a long command: the first one aborts (the
 * pipeline then removes its temporary file and rejects with E_ABORTED) and is remembered, so the
 * CLI exits 130 or 143 as a shell reports a process the signal ended; `dispose()` restores the
 * default handlers.
 */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const on = (sig: 'SIGINT' | 'SIGTERM') => (): void => {
    interruptedBy ??= sig;
    ac.abort();
  };
  const onInt = on('SIGINT'), onTerm = on('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  return {
    signal: ac.signal,
    dispose: () => {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
    },
  };
}
