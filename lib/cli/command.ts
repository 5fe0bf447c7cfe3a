/**
 * What a CLI subcommand is: its name, help text, util.parseArgs options and a run function.
 * Commands write through {@link CliIo} so tests can call them in-process and capture output.
 */
import type { ParseArgsConfig } from 'node:util';

/** Output streams of a command. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
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
  /** Usage line(s) after `layerquant `, e.g. `inspect <model> [--json]`. */
  usage: string;
  /** Longer help: options and examples. */
  help: string;
  /** util.parseArgs options (`--help` is added by the runner). */
  options: NonNullable<ParseArgsConfig['options']>;
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

/**
 * Ctrl-C as an AbortSignal for a long command: the first SIGINT aborts (the pipeline then removes
 * its temporary file and rejects with E_ABORTED); `dispose()` restores the default handler.
 */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  return { signal: ac.signal, dispose: () => process.removeListener('SIGINT', onSigint) };
}
