/**
 * The planner's modelled error of each format: its squared relative RMS error on seeded Gaussian
 * rows, measured natively with the registry's own quantizers (native/quant/format-error.cpp;
 * cached per process). One source for every format, so the planner keeps no table of its own.
 */
import { nativeAsync, native } from '../native.js';
import { formatInfo } from './formats.js';

const measured = new Map<string, Promise<number>>();

/** Squared relative RMS error of each named format (canonical names as keys). */
export async function measureRelMse(names: Iterable<string>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const raw of new Set(names)) {
    const name = formatInfo(raw).name;
    let v = measured.get(name);
    if (!v) measured.set(name, (v = nativeAsync(() => native().formatRelMse(name))));
    out[name] = await v;
  }
  return out;
}
