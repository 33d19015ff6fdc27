// @gossamer/experiments: the paper reproductions behind `gossamer reproduce` (single-merge, co2,
// netlasso). Built on the library and @gossamer/cli; nothing in them depends on this package.
export * from './plugin.js';
export * from './single-merge.js';
export * from './co2.js';
export * from './netlasso/benchmarks.js';
export * from './netlasso/traffic.js';
export * from './netlasso/reproduce.js';
