/**
 * The CLI runner: picks the subcommand, parses its options with util.parseArgs (strict, defaults
 * from the command's option table), prints help made from that same table, and maps failures to
 * exit codes: 0 success, 1 a LayerquantError (its message, no stack), 2 a usage error (message and
 * usage), 130/143 a command SIGINT/SIGTERM interrupted. Anything else is a bug: its stack goes to stderr, exit 1.
 */
import { createRequire } from 'node:module';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { nativeBackend } from '../native.js';
import { isLayerquantError } from '../errors.js';
import { UsageError, interruption, type CliIo, type CommandSpec, type OptionSpec } from './command.js';
import { commands } from './commands/index.js';

const defaultIo: CliIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};

function globalHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'layerquant — layer-wise mixed-precision quantization of LLMs to GGUF',
    '',
    'Usage: layerquant <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `layerquant <command> --help` for a command\'s options; `layerquant --version` for the version and the native binary.',
    '',
  ].join('\n');
}

/** The left column of an option's help line: `-o, --output FILE`. */
function flag(name: string, o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'X'}` : ''}`;
}

/** `--help` of a command: usage, summary, then every option by group, with its default. */
export function commandHelp(c: CommandSpec): string {
  const opts: [string, OptionSpec][] = [...Object.entries(c.options), ['help', { type: 'boolean', short: 'h', help: 'show this help' }]];
  const width = Math.min(28, Math.max(...opts.map(([n, o]) => flag(n, o).length)));
  const groups = [...new Set(opts.map(([, o]) => o.group ?? ''))];
  const lines = [`Usage: layerquant ${c.usage}`, '', c.summary];
  for (const g of groups) {
    lines.push('', `${g || 'Options'}:`);
    for (const [name, o] of opts.filter(([, x]) => (x.group ?? '') === g)) {
      const left = flag(name, o);
      const def = o.default === undefined || o.type === 'boolean' ? '' : ` (default ${String(o.default)})`;
      const text = `${o.help}${def}`.split('\n');
      lines.push(`  ${left.padEnd(width)}  ${text[0]}`);
      if (left.length > width) lines.splice(lines.length - 1, 1, `  ${left}`, `  ${''.padEnd(width)}  ${text[0]}`);
      for (const more of text.slice(1)) lines.push(`  ${''.padEnd(width)}  ${more}`);
    }
  }
  if (c.epilog?.length) lines.push('', ...c.epilog);
  return `${lines.join('\n')}\n`;
}

/** util.parseArgs' option configuration of a command. */
function parseConfig(c: CommandSpec): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(c.options)) {
    out[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}), ...(o.default !== undefined ? { default: o.default as never } : {}) };
  }
  return out;
}

/** Runs the CLI on `argv` (without `node` and the script); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout(topic ? commandHelp(topic) : globalHelp());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
    const b = nativeBackend();
    io.stdout(`layerquant ${version} (${b.backend} addon: ${b.source})\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`layerquant: unknown command "${name}"\n\n${globalHelp()}`);
    return 2;
  }
  let args;
  try {
    args = parseArgs({ args: rest, options: parseConfig(command), allowPositionals: true, strict: true });
  } catch (err) {
    io.stderr(`layerquant ${command.name}: ${(err as Error).message}\n\nUsage: layerquant ${command.usage}\n`);
    return 2;
  }
  if (args.values.help) {
    io.stdout(commandHelp(command));
    return 0;
  }
  try {
    const code = await command.run({ values: args.values, positionals: args.positionals }, { tty: process.stderr.isTTY === true, ...io });
    return code ?? 0;
  } catch (err) {
    const sig = interruption();
    if (sig && isLayerquantError(err, 'E_ABORTED')) {
      io.stderr(`layerquant ${command.name}: interrupted (${sig}); nothing was written\n`);
      return sig === 'SIGINT' ? 130 : 143;
    }
    if (err instanceof UsageError || isLayerquantError(err, 'E_BAD_ARGUMENT')) {
      io.stderr(`layerquant ${command.name}: ${(err as Error).message}\n\nUsage: layerquant ${command.usage}\n`);
      return 2;
    }
    if (isLayerquantError(err)) {
      io.stderr(`layerquant ${command.name}: ${err.message} [${err.code}]\n`);
      return 1;
    }
    io.stderr(`layerquant ${command.name}: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
