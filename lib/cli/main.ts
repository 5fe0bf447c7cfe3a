#!/usr/bin/env node
/** The `layerquant` bin: runs {@link runCli} on the process arguments and exits with its code. */
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2));
