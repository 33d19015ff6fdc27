export { GPT_HEAD_SIZES, checkGptSpec, formatGptSpec, headSize, parseGptSpec, withVocab, type GptConfig, type GptSpec } from './spec.js';
export { GPT_INIT_STD, GPT_NAMES, blockNames, gptLayout, gptNoDecayRanges, gptTensors, isNoDecayTensor } from './layout.js';
export { GptGraph, gptDispatches, type GptBatch } from './graph.js';
export { GptReplica, type GptReplicaOptions } from './replica.js';
export * as gptReference from './reference.js';
