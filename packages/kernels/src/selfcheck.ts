import type { SelfCheck } from './selfcheck-types.js';
import { elementwiseChecks } from './checks/elementwise.js';

/** One small check per kernel family, run by `gossamer selfcheck`. */
export const selfChecks: SelfCheck[] = [...elementwiseChecks];
