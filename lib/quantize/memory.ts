/**
 * Free memory for `--fit`: RAM from the OS, CUDA devices' free memory from the addon's
 * `cudaDevices()` (the CUDA build only). Lives beside the pipeline so that lib/plan stays free of
 * the addon: the planner receives this provider as data.
 */
import { LayerquantError } from '../errors.js';
import { native } from '../native.js';
import { availableRam, type CudaDeviceMemory, type MemoryProvider } from '../plan/budget.js';

/** RAM and, where the CUDA build is loaded, every device's free memory. */
export const systemMemory: MemoryProvider = {
  cpu: availableRam,
  cuda(): CudaDeviceMemory[] {
    let addon;
    try {
      addon = native();
    } catch (cause) {
      throw new LayerquantError('E_NO_BACKEND', '--fit --device cuda needs the native addon, which did not load', { cause });
    }
    if (typeof addon.cudaDevices !== 'function') throw new LayerquantError('E_NO_BACKEND', '--fit --device cuda needs the CUDA build of the addon (cudaDevices() is missing)');
    return addon.cudaDevices().map((d) => ({ index: d.index, name: d.name, freeBytes: d.freeMemory, totalBytes: d.totalMemory }));
  },
};
