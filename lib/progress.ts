/**
 * Progress of long library calls, as events: each stage (ranking, calibration, measuring,
 * quantizing, evaluating…) reports steps done out of a total, with the time it has taken and an
 * estimate of the time left. The CLI renders the same events as a bar with an ETA on a TTY, or as
 * one JSON line per step (`--progress json`).
 */

/** One progress step. */
export interface ProgressEvent {
  /** The stage: `rank`, `calibrate`, `sensitivity`, `plan`, `quantize`, `eval`, `compare`, `convert`… */
  stage: string;
  /** Steps done so far (0 at the start of a stage) and in all, counted in `unit`. */
  done: number;
  total: number;
  /** What a step is: `blocks`, `tensors`, `bytes`, `measurements`, `windows`, `plans`… */
  unit: string;
  /** What was just done or is being worked on (a tensor, a block, a measurement). */
  item?: string;
  /** Seconds since the stage started. */
  elapsed: number;
  /** Estimated seconds left, once a step is done. */
  eta?: number;
}

/** Receives progress events. */
export type ProgressListener = (event: ProgressEvent) => void;

/** Reports the steps of one stage: `step(done, item)` after each step (done counts up to total). */
export interface StageProgress {
  step(done: number, item?: string): void;
}

/** Starts a stage (reporting `done = 0` at once) and returns its reporter; a no-op without a listener. */
export function startStage(listener: ProgressListener | undefined, stage: string, total: number, unit: string): StageProgress {
  if (!listener) return { step() {} };
  const t0 = performance.now();
  const emit = (done: number, item?: string): void => {
    const elapsed = (performance.now() - t0) / 1000;
    const e: ProgressEvent = { stage, done, total, unit, elapsed };
    if (item !== undefined) e.item = item;
    if (done > 0 && total >= done) e.eta = (elapsed / done) * (total - done);
    listener(e);
  };
  emit(0);
  return { step: emit };
}
