// --help is made from each command's option table: every flag a command accepts is listed, with
// the default util.parseArgs applies; the usage line says what is required.
import { expect, it } from 'vitest';
import { commandHelp } from '../../lib/cli/run.js';
import { commands } from '../../lib/cli/commands/index.js';

it('every option of every command is in its help, with its default', () => {
  for (const c of commands) {
    const help = commandHelp(c);
    for (const [name, o] of Object.entries(c.options)) {
      const line = help.split('\n').find((l) => l.includes(`--${name}`));
      expect(line, `${c.name} --${name}`).toBeDefined();
      if (o.default !== undefined && o.type === 'string') expect(help, `${c.name} --${name} default`).toContain(`(default ${o.default})`);
    }
  }
});

it('long commands take --progress; quantize shows -o as required unless --plan-only; rank states the tokens it uses', () => {
  for (const name of ['rank', 'quantize', 'eval', 'compare', 'convert']) expect(commands.find((c) => c.name === name)!.options.progress, name).toBeDefined();
  const q = commands.find((c) => c.name === 'quantize')!;
  expect(q.usage).toMatch(/\(-o out\.gguf \| --plan-only\)/);
  expect(commandHelp(commands.find((c) => c.name === 'rank')!)).toMatch(/--tokens N\s+calibration tokens \(default: lim all of the text, at most 4096/);
  expect(commandHelp(commands.find((c) => c.name === 'eval')!)).toMatch(/--progress MODE/);
});
