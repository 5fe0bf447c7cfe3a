// The per-ISA static libraries must not share an inline definition with the core or with each other.
// The linker keeps one copy of each weak symbol, so a helper that the AVX-512 library and the scalar
// core both instantiate runs the same machine code in both: AVX-512 code in the scalar path (SIGILL
// on an AVX2-only CPU) or scalar code in the SIMD path (slower). Headers shared across ISAs keep
// their helpers in unnamed namespaces; this reads the built objects with `nm` to prove it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const objRoot = join(process.cwd(), 'build', 'Release', 'obj.target');
const hasNm = (() => {
  try {
    execFileSync('nm', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const libs = ['layerquant', 'lq_avx2', 'lq_avx512', 'lq_neon'].filter((l) => existsSync(join(objRoot, l)));
const reason = !hasNm ? 'nm (binutils) is not installed' : libs.length < 2 ? `no per-ISA objects under ${objRoot} (prebuilt addon?)` : '';
if (reason) console.log(`isa-linkage: skipped: ${reason}`);

function objects(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? objects(p) : p.endsWith('.o') ? [p] : [];
  });
}

// Weak (W/V) and unique (u) definitions: the ones the linker merges across objects.
function mergeable(lib: string): Set<string> {
  const out = execFileSync('nm', ['-C', '--defined-only', ...objects(join(objRoot, lib))], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const names = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^[0-9a-f]+ ([WVu]) (.+)$/.exec(line);
    // The personality-routine reference is data the compiler emits identically everywhere.
    if (m && m[2] !== 'DW.ref.__gxx_personality_v0') names.add(m[2]!);
  }
  return names;
}

describe('per-ISA code stays in its own library', () => {
  it.skipIf(reason !== '')('no weak symbol is defined both in an ISA library and elsewhere', () => {
    const sets = new Map(libs.map((l) => [l, mergeable(l)]));
    const shared: string[] = [];
    for (const [lib, syms] of sets) {
      if (lib === 'layerquant') continue;
      for (const [other, os] of sets) {
        if (other === lib) continue;
        for (const s of syms) if (os.has(s)) shared.push(`${lib} & ${other}: ${s}`);
      }
    }
    expect(sets.get('layerquant')!.size).toBeGreaterThan(0); // nm read the core objects at all
    expect(shared).toEqual([]);
  });
});
