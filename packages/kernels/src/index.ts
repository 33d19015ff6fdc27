export * from './span.js';
export * from './elementwise.js';
export * as reference from './reference/index.js';
export { selfChecks } from './selfcheck.js';
export { mixedError, checkInput, type SelfCheck, type SelfCheckResult } from './selfcheck-types.js';
