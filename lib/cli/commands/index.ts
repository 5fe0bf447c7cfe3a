/**
 * The subcommand registry: one line per command, in the order `layerquant --help` lists them.
 * Add a command by importing its spec and appending it here.
 */
import type { CommandSpec } from '../command.js';
import { inspectCommand } from './inspect.js';
import { convertCommand } from './convert.js';
import { quantizeCommand } from './quantize.js';
import { compareCommand } from './compare.js';
import { rankCommand } from './rank.js';
import { evalCommand } from './eval.js';
import { imatrixCommand } from './imatrix.js';

export const commands: CommandSpec[] = [
  inspectCommand,
  convertCommand,
  rankCommand,
  quantizeCommand,
  evalCommand,
  imatrixCommand,
  compareCommand,
];
