/** Importance matrices (llama.cpp's imatrix): compute, read, write, combine, and use. */
export type { Imatrix, ImatrixEntry } from './types.js';
export { entryColumns } from './types.js';
export { ImatrixCollector, type CollectOptions } from './collect.js';
export { computeImatrix, imatrixChunks, type ImatrixOptions } from './compute.js';
export { readImatrix, type ImatrixFile } from './read.js';
export { writeImatrix, type WriteImatrixOptions } from './write.js';
export { combineImatrices } from './combine.js';
export { imatrixImportance } from './importance.js';
export { validateImatrix, checkImatrixFits, type ImatrixModel } from './validate.js';
