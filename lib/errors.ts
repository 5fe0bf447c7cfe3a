/**
 * Typed errors. Every failure the library reports is a {@link LayerquantError} with a stable
 * `code`, and, where one is involved, the file and tensor it concerns, so tools can branch on
 * `err.code` and people read the file name in the message.
 */

/** Stable error codes. Add new codes here; never reuse or rename one. */
export type ErrorCode =
  | 'E_IO' // a file could not be opened, read, mapped or written
  | 'E_NOT_FOUND' // a file or folder does not exist, or a folder holds no model
  | 'E_BAD_GGUF' // a GGUF file is malformed (truncated, lying lengths, bad types, overlaps…)
  | 'E_BAD_SAFETENSORS' // a safetensors file or index is malformed
  | 'E_BAD_CONFIG' // a model config (config.json or GGUF hyper-parameters) is missing or inconsistent
  | 'E_UNSUPPORTED' // a valid input we do not handle (architecture, dtype, format)
  | 'E_SHAPE' // a tensor shape or buffer size does not fit the operation
  | 'E_BAD_VALUE' // NaN/Inf weights or another invalid numeric input
  | 'E_BAD_ARGUMENT' // an API or CLI argument is invalid
  | 'E_BUDGET_IMPOSSIBLE' // a budget no plan can meet
  | 'E_BAD_TEXT' // evaluation or calibration text is unusable
  | 'E_NO_BACKEND' // no native addon could be loaded
  | 'E_NATIVE' // the native side reported an internal failure
  | 'E_ABORTED' // the caller cancelled through an AbortSignal
  | 'E_BAD_PLAN' // a plan file (plan.json) is malformed or does not match the model
  | 'E_BAD_IMATRIX' // an imatrix file is malformed, or its entries do not fit the model
  | 'E_BAD_LOGITS'; // a base-logits file (llama-perplexity --kl-divergence-base) is malformed or does not match the model

/** Context attached to an error: what it concerns. */
export interface ErrorContext {
  /** Path of the file the error concerns. */
  file?: string;
  /** Name of the tensor the error concerns. */
  tensor?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** The one error class layerquant throws. */
export class LayerquantError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Path of the file concerned, if any. */
  readonly file: string | undefined;
  /** Name of the tensor concerned, if any. */
  readonly tensor: string | undefined;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    const where = [context.file, context.tensor && `tensor ${context.tensor}`].filter(Boolean).join(', ');
    super(where ? `${where}: ${message}` : message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'LayerquantError';
    this.code = code;
    this.file = context.file;
    this.tensor = context.tensor;
  }
}

/** True when `err` is a {@link LayerquantError}, optionally with the given code. */
export function isLayerquantError(err: unknown, code?: ErrorCode): err is LayerquantError {
  return err instanceof LayerquantError && (code === undefined || err.code === code);
}
