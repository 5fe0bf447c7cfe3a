// The package's runtime exports, pinned: the public API stays small and grows only on purpose
// (lib/index.ts lists what each value is for). Adding or removing one means editing this list.
import { expect, it } from 'vitest';
import * as api from '../../lib/index.js';

it('lib/index.ts exports exactly these values', () => {
  expect(Object.keys(api).sort()).toEqual([
    'DEFAULT_LEVELS', 'LayerquantError', 'STRATEGIES', 'combineImatrices', 'compareModel', 'computeImatrix', 'convertHfToGguf',
    'convertTensor', 'dequantizeTensor', 'findNonFinite', 'formatInfo', 'formatPlanTable', 'formats', 'isLayerquantError',
    'klDivergence', 'loadModel', 'nativeBackend', 'outputKl', 'parseBudget', 'perplexity', 'quantizeModel', 'quantizeTensor',
    'quantizeTensorInto', 'rank', 'readImatrix', 'readPlanFile', 'saveBaseLogits', 'sensitivity', 'writeImatrix', 'writePlanFile',
  ]);
  // Nothing of lib/model's internals leaks through a re-export.
  for (const internal of ['REL_MSE', 'FALLBACK', 'setScoreProvider', 'makePlan', 'solve', 'Decoder', 'writeGguf', 'openGguf', 'ropeRowPermutation']) {
    expect(internal in api, internal).toBe(false);
  }
});
