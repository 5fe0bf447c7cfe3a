/**
 * The public API of layerquant: load a model, rank its blocks (or measure them), plan and quantize
 * it to a budget in one call, evaluate the result; plus the tensor-level kernels and the errors.
 * Every heavy call returns a promise, runs on our native pool, takes an AbortSignal and reports
 * progress as events. Everything else in lib/ is internal; test/unit/exports.test.ts pins this list.
 *
 *   const { plan, file, report } = await quantizeModel('model.gguf', { bits: 3.5 }, { output: 'out.gguf' });
 */
// errors
export { LayerquantError, isLayerquantError, type ErrorCode, type ErrorContext } from './errors.js';
// load
export { loadModel } from './model/load.js';
export type { ModelDescription, TensorRef, TensorRole, Hparams, BlockDescription, TokenizerSource } from './model/types.js';
export { convertHfToGguf, type ConvertModelOptions, type ConvertModelResult, type ConvertType } from './model/convert.js';
// formats
export { formats, formatInfo, type FormatInfo } from './quantize/formats.js';
// rank and measure
export { rank, type RankMethod, type RankOptions } from './importance/rank.js';
export type { ImportanceResult, BlockScore } from './importance/types.js';
export { sensitivity, type SensitivityOptions, type SensitivityResult, type SensitivityUnit } from './importance/sensitivity.js';
// importance matrices (llama-imatrix's GGUF and .dat files)
export { computeImatrix, readImatrix, writeImatrix, combineImatrices, type Imatrix, type ImatrixEntry, type ImatrixOptions, type ImatrixFile, type WriteImatrixOptions } from './imatrix/index.js';
// plan
export { parseBudget, type Budget, type BudgetArgs } from './plan/budget.js';
export type { Plan, PlannedTensor, PlannedBlock, GlobalsPolicy } from './plan/plan.js';
export { STRATEGIES, type StrategyName } from './plan/solve.js';
export { readPlanFile, writePlanFile, formatPlanTable } from './plan/plan-file.js';
// quantize: the pipeline, and tensors one at a time
export {
  quantizeModel, DEFAULT_LEVELS,
  type QuantizeModelOptions, type QuantizeModelResult, type QuantizeReport, type QuantizeMethod, type CalibrationOptions, type BudgetSpec,
} from './quantize/pipeline.js';
export type { WrittenFile } from './quantize/write.js';
export { quantizeTensor, quantizeTensorInto, dequantizeTensor, type TensorView, type QuantizeOptions } from './quantize/tensor.js';
export { convertTensor, findNonFinite, type ConvertOptions, type PlainFormat } from './tensor/convert.js';
export type { TensorData } from './tensor/view.js';
// evaluate
export { perplexity, type PerplexityOptions, type PerplexityResult } from './eval/perplexity.js';
export { klDivergence, saveBaseLogits, type KlResult, type KlOptions, type MeanError } from './eval/kl-divergence.js';
export { outputKl } from './importance/sensitivity.js';
export { compareModel, type CompareMethod, type CompareModelOptions, type CompareRow, type CompareSummary, type CompareWithin } from './quantize/compare.js';
// progress and backend
export type { ProgressEvent, ProgressListener } from './progress.js';
export { nativeBackend, type BackendChoice } from './native.js';
