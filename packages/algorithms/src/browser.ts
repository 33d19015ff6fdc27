// @gossamer/algorithms' browser entry (the `browser` export condition): the training algorithms a
// worker page runs, without Network Lasso (its problems are read from CSV files).
export * from './common/index.js';
export * from './dsgd/index.js';
export * from './co2/index.js';
export * from './elastic.js';
export * from './heal.js';
export * from './resume.js';
export * from './boundary.js';
