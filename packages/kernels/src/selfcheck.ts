import type { SelfCheck } from './selfcheck-types.js';
import { attentionChecks } from './checks/attention.js';
import { elementwiseChecks } from './checks/elementwise.js';
import { gatherChecks } from './checks/gather.js';
import { matmulChecks } from './checks/matmul.js';
import { optimChecks } from './checks/optim.js';
import { reduceChecks } from './checks/reduce.js';
import { robustChecks } from './checks/robust.js';
import { transformerChecks } from './checks/transformer.js';

/** One small check per kernel family, run by `gossamer selfcheck`. */
export const selfChecks: SelfCheck[] = [...elementwiseChecks, ...matmulChecks, ...reduceChecks, ...optimChecks, ...gatherChecks, ...transformerChecks, ...attentionChecks, ...robustChecks];
