/**
 * The public API of layerquant (re-exports only). Each area adds its lines.
 */
// errors
export { LayerquantError, isLayerquantError, type ErrorCode, type ErrorContext } from './errors.js';
// io
export { GgufType, type GgufValue, type GgufArray, type GgufKv, type GgufTensorInfo, type GgufHeader } from './io/gguf-types.js';
export { GgmlType, ggmlTypeInfo, ggmlTensorBytes } from './io/ggml-types.js';
export { openGguf, parseGgufHeader, type GgufFile } from './io/gguf-read.js';
export { writeGguf, ggufFileSize, type GgufTensorSource } from './io/gguf-write.js';
export { openSafetensors, parseSafetensorsHeader, type SafetensorsModel, type SafetensorsTensor } from './io/safetensors.js';
export { mapFile, type MappedFile } from './io/mmap.js';
// model
export * from './model/index.js';
// tensor dtype conversion and backend report (infra)
export { convertTensor, findNonFinite, plainFormatSize, type PlainFormat, type ConvertOptions } from './tensor/convert.js';
export { nativeBackend, type BackendChoice } from './native.js';
// forward pass, tokenization, perplexity, importance (forward)
export { Decoder, supportedArchitectures, type DecoderModel, type DecoderTensor, type DecoderOptions, type BlockCosines } from './eval/decoder.js';
export { perplexity, perplexityOfTokens, type PerplexityOptions, type PerplexityResult } from './eval/perplexity.js';
export { readTextFile, decodeText } from './eval/text.js';
export { loadTokenizer, type TextTokenizer, type UnknownCharPolicy } from './tokenize/tokenizer.js';
export { ggufVocabToTokenizerJson } from './tokenize/gguf-vocab.js';
export { lim, calibrationBatch, type LimOptions } from './importance/lim.js';
export { zd, zdRoles, type ZdOptions } from './importance/zd.js';
export { builtinCalibrationText } from './importance/calibration.js';
export { importanceSvg } from './importance/svg.js';
export { rankBlocks, type BlockScore, type ImportanceResult } from './importance/types.js';
export {
  sensitivity, sensitivityErrors, sensitivityBlockScores, sensitivityUnits, outputKl,
  type SensitivityOptions, type SensitivityResult, type SensitivityUnit,
} from './importance/sensitivity.js';
// plan: budgets, cost model, strategies, plan files (plan helper)
export {
  parseBits, parseSize, parseBudget, fitBudget, fitOverheadBytes, kvCacheBytes, availableRam, describeBudget,
  type Budget, type BudgetArgs, type FitOptions, type MemoryProvider, type CudaDeviceMemory, type KvShape,
} from './plan/budget.js';
export { resolveFormat, resolveLevels, storedFormat, tensorCost, FALLBACK, type FormatLike, type FormatTable, type TensorCost } from './plan/cost.js';
export { makePlan, parseGlobalsPolicy, REL_MSE, type Plan, type PlanOptions, type PlanModel, type PlannedTensor, type PlannedBlock, type GlobalsPolicy } from './plan/plan.js';
export { solve, strategy, STRATEGIES, feasibleRange, type Strategy, type StrategyName, type SolveProblem, type SolveResult, type SolveUnit } from './plan/solve.js';
export { readPlanFile, writePlanFile, validatePlan, formatPlanTable, planMetadata, planToJson } from './plan/plan-file.js';
export { parseScores, blockScores, setScoreProvider, type ScoreProvider } from './plan/scores.js';
// quantization formats and tensor kernels (quant)
export { formats, formatInfo, type FormatInfo } from './quantize/formats.js';
export { quantizeTensor, quantizeTensorInto, dequantizeTensor, quantizedBytes, type TensorView, type QuantizeOptions } from './quantize/tensor.js';
// quantize pipeline and the paper's experiment (plan helper)
export { planModel, quantizeModel, predictFileSize, registryFormats, type PlanModelOptions, type QuantizeModelOptions, type QuantizeModelResult, type QuantizeProgress } from './quantize/run.js';
export { compareOrders, summarize, formatCompareTable, compareCsv, compareSvg, type CompareOptions, type CompareRow, type Evaluator, type QuantizedModel } from './quantize/compare.js';
export { perplexityEvaluator } from './quantize/eval-adapter.js';
