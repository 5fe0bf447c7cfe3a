/**
 * The CLI runner: picks the subcommand, parses its options with util.parseArgs (strict), prints
 * help, and maps failures to exit codes: 0 success, 1 a LayerquantError (its message, no stack),
 * 2 a usage error (message and usage). Anything else is a bug: its stack goes to stderr, exit 1.
 */
import { parseArgs } from 'node:util';
import { isLayerquantError } from '../errors.js';
import { UsageError, type CliIo, type CommandSpec } from './command.js';
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
    'Run `layerquant <command> --help` for a command\'s options.',
    '',
  ].join('\n');
}

function commandHelp(c: CommandSpec): string {
  return `Usage: layerquant ${c.usage}\n\n${c.summary}\n\n${c.help.trimEnd()}\n`;
}

/** Runs the CLI on `argv` (without `node` and the script); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout(topic ? commandHelp(topic) : globalHelp());
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`layerquant: unknown command "${name}"\n\n${globalHelp()}`);
    return 2;
  }
  let args;
  try {
    args = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    io.stderr(`layerquant ${command.name}: ${(err as Error).message}\n\nUsage: layerquant ${command.usage}\n`);
    return 2;
  }
  if (args.values.help) {
    io.stdout(commandHelp(command));
    return 0;
  }
  try {
    const code = await command.run({ values: args.values, positionals: args.positionals }, io);
    return code ?? 0;
  } catch (err) {
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
