// The per-ISA code must not share an inline definition with the core or with another ISA's code.
// The linker keeps one copy of each weak symbol, so a helper that the AVX-512 code and the scalar
// core both instantiate runs the same machine code in both: AVX-512 code in the scalar path (SIGILL
// on an AVX2-only CPU) or scalar code in the SIMD path (slower). Headers shared across ISAs keep
// their helpers in unnamed namespaces; this reads the built objects with `nm` to prove it, in every
// build present: node-gyp's (build/, one static library per ISA) and the cmake-js ones (build-asan/,
// the sanitizer build at -O1, where GCC inlines far less and a shared helper shows up as a weak
// symbol; build-cmake/), where each source's ISA is the one its file name says.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const hasNm = (() => {
  try {
    execFileSync('nm', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function objects(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? objects(p) : p.endsWith('.o') ? [p] : [];
  });
}

/** The objects of one build, grouped by the code they hold: 'core' (no ISA flags) or an ISA. */
type Groups = Map<string, string[]>;

function gypGroups(root: string): Groups | string {
  const dir = join(root, 'Release', 'obj.target');
  const libs = ['layerquant', 'lq_avx2', 'lq_avx512', 'lq_neon'].filter((l) => existsSync(join(dir, l)));
  if (libs.length < 2) return `no per-ISA objects under ${dir} (prebuilt addon?)`;
  return new Map(libs.map((l) => [l === 'layerquant' ? 'core' : l.slice(3), objects(join(dir, l))]));
}

function cmakeGroups(root: string): Groups | string {
  const dir = join(root, 'CMakeFiles', 'layerquant.dir');
  if (!existsSync(dir)) return `no cmake objects under ${dir} (not built)`;
  const g: Groups = new Map();
  for (const o of objects(dir)) {
    const isa = /-(avx2|avx512|neon)\.cpp\.o$/.exec(o)?.[1] ?? 'core';
    g.set(isa, [...(g.get(isa) ?? []), o]);
  }
  if (g.size < 2) return `only ${[...g.keys()].join(', ')} objects under ${dir}`;
  return g;
}

// Weak (W/V) and unique (u) definitions: the ones the linker merges across objects.
function mergeable(files: string[]): Set<string> {
  const out = execFileSync('nm', ['-C', '--defined-only', ...files], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const names = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^[0-9a-f]+ ([WVu]) (.+)$/.exec(line);
    // The personality-routine reference is data the compiler emits identically everywhere.
    if (m && m[2] !== 'DW.ref.__gxx_personality_v0') names.add(m[2]!);
  }
  return names;
}

const builds: Array<[string, Groups | string]> = [
  ['node-gyp (build/)', gypGroups(join(process.cwd(), 'build'))],
  ['sanitizer (build-asan/)', cmakeGroups(join(process.cwd(), 'build-asan'))],
  ['cmake-js (build-cmake/)', cmakeGroups(join(process.cwd(), 'build-cmake'))],
];

describe('per-ISA code stays in its own objects', () => {
  for (const [name, groups] of builds) {
    const reason = !hasNm ? 'nm (binutils) is not installed' : typeof groups === 'string' ? groups : '';
    if (reason) console.log(`isa-linkage ${name}: skipped: ${reason}`);
    it.skipIf(reason !== '')(`${name}: no weak symbol is defined both in an ISA's code and elsewhere`, () => {
      const sets = new Map([...(groups as Groups)].map(([g, files]) => [g, mergeable(files)]));
      const shared: string[] = [];
      for (const [isa, syms] of sets) {
        if (isa === 'core') continue;
        for (const [other, os] of sets) {
          if (other === isa) continue;
          for (const s of syms) if (os.has(s)) shared.push(`${isa} & ${other}: ${s}`);
        }
      }
      expect(sets.get('core')?.size ?? 0, 'nm read the core objects at all').toBeGreaterThan(0);
      expect(shared).toEqual([]);
    });
  }
});
