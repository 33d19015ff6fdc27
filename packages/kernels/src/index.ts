export * from './span.js';
export * from './elementwise.js';
export * as reference from './reference/index.js';
export { selfChecks, mixedError, checkInput, type SelfCheck, type SelfCheckResult } from './selfcheck.js';
