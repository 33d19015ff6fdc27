// Token + learned position embedding for a GPT, forward and a deterministic, atomics-free backward
// (see shaders/embedding.wgsl for the method and its cost). wte and wpe are spans of the flat
// parameter buffer, dwte and dwpe spans of the flat gradient buffer; nothing is allocated.
//
// The tied output head needs no kernel here: logits = h·wteᵀ is
//   matmul(step, h, wte, logits, { m: tokens, n: vocab, k: cols, transposeB: true })
// and its wte gradient dlogitsᵀ·h is
//   matmul(step, dlogits, h, dwte, { m: vocab, n: cols, k: tokens, transposeA: true, accumulate: true })
// so the embedding's and the head's contributions meet in one dwte (one of the two overwrites, the
// other accumulates).
import { defineKernel, type StepEncoder } from '@gossamer/gpu';
import { checkWritableUnaliased } from './binding-rules.js';
import { embedding as source } from './generated/shaders.js';
import { outputSpan, type IndexTarget, type Target } from './reduce-encode.js';
import { asSpan, grid1d, WG_1D, type F32Span } from './span.js';

const embedParams = [
  ['n', 'u32'],
  ['cols', 'u32'],
  ['seq', 'u32'],
  ['vocab', 'u32'],
  ['tok_off', 'u32'],
  ['wte_off', 'u32'],
  ['wpe_off', 'u32'],
  ['out_off', 'u32'],
] as const;

export const embeddingKernels = {
  /** Bindings: tokens, parameters (wte, wpe), out. */
  forward: defineKernel({
    name: 'embedding.forward',
    source,
    entryPoint: 'embedding_forward',
    params: embedParams,
    storage: ['read', 'read', 'read_write'],
  }),
  /** Bindings: tokens, dout, gradients (dwte). */
  backwardTokens: defineKernel({
    name: 'embedding.backward_tokens',
    source,
    entryPoint: 'embedding_backward_tokens',
    params: embedParams,
    storage: ['read', 'read', 'read_write'],
  }),
  /** Bindings: dout, gradients (dwpe). */
  backwardPositions: defineKernel({
    name: 'embedding.backward_positions',
    source,
    entryPoint: 'embedding_backward_positions',
    params: embedParams,
    storage: ['read', 'read_write'],
  }),
};

/** Largest vocabulary of the row-owner backward: one workgroup row per token id (grid y ≤ 65535). */
export const EMBEDDING_MAX_VOCAB = 65535;

/** Threads (= columns) per workgroup of the token backward: enough for cols, at most 256. */
function tokenWorkgroupSize(cols: number): number {
  return Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(cols))));
}

interface EmbeddingShape {
  /**
   * [batch × seq] u32 token ids, row-major (position of token t is t mod seq). Upload them with
   * uploadLabels(gpu, ids, vocab), which rejects ids ≥ vocab on the host.
   */
  tokens: IndexTarget;
  /** Embedding width C. */
  cols: number;
  /** Positions per sequence T (rows of wpe used). */
  seq: number;
}

export interface EmbeddingForwardArgs extends EmbeddingShape {
  /** [vocab × cols] token embedding (vocab = wte.length / cols), e.g. in the flat parameters. */
  wte: F32Span;
  /** [seq × cols] position embedding: the first seq rows of the table. In wte's buffer. */
  wpe: F32Span;
  /** [tokens × cols] output, in a buffer other than the tokens' and parameters'. */
  out: Target;
}

export interface EmbeddingBackwardArgs extends EmbeddingShape {
  /** dL/dout, [tokens × cols]. */
  dout: Target;
  /** dL/dwte, [vocab × cols] (vocab = dwte.length / cols). Omit to skip (frozen embedding). */
  dwte?: F32Span;
  /** dL/dwpe, [seq × cols]. Omit to skip. */
  dwpe?: F32Span;
  /** dwte += and dwpe += instead of overwriting (default false, as matmul's weight gradients). */
  accumulate?: boolean;
}

/** out[t] = wte[token[t]] + wpe[t mod seq]: one dispatch. A token ≥ vocab gives a NaN row. */
export function embeddingForward(step: StepEncoder, args: EmbeddingForwardArgs): void {
  const op = 'embeddingForward';
  const { n, tokens } = checkShape(op, args);
  const { cols, seq } = args;
  const vocab = rowsOfTable(op, 'wte', args.wte, cols);
  if (args.wpe.length !== seq * cols) throw new Error(`${op}: wpe has ${args.wpe.length} elements, expected seq·cols = ${seq * cols}`);
  if (args.wpe.buffer !== args.wte.buffer) throw new Error(`${op}: wte and wpe must be in one buffer (the flat parameters)`);
  const out = outputSpan(op, 'out', args.out, n * cols);
  checkWritableUnaliased(op, [out], [tokens, args.wte]);
  step.dispatch(
    embeddingKernels.forward,
    { n, cols, seq, vocab, tok_off: tokens.offset, wte_off: args.wte.offset, wpe_off: args.wpe.offset, out_off: out.offset },
    [tokens.buffer, args.wte.buffer, out.buffer],
    grid1d(n * cols),
  );
}

/**
 * dwte[v] = Σ_{token[t] = v} dout[t] and dwpe[p] = Σ_b dout[b·seq + p]: one dispatch each, fixed
 * summation order (increasing t), so repeated tokens need no atomics and the bits never vary.
 */
export function embeddingBackward(step: StepEncoder, args: EmbeddingBackwardArgs): void {
  const op = 'embeddingBackward';
  const { n, tokens } = checkShape(op, args);
  const { cols, seq } = args;
  const dout = outputSpan(op, 'dout', args.dout, n * cols);
  const constants = { ACCUMULATE: args.accumulate ?? false };
  const base = { n, cols, seq, tok_off: tokens.offset, out_off: dout.offset };
  if (args.dwte !== undefined) {
    const vocab = rowsOfTable(op, 'dwte', args.dwte, cols);
    if (vocab > EMBEDDING_MAX_VOCAB) throw new Error(`${op}: vocab ${vocab} exceeds ${EMBEDDING_MAX_VOCAB} (one workgroup row per token id)`);
    checkWritableUnaliased(op, [args.dwte], [tokens, dout]);
    const wg = tokenWorkgroupSize(cols);
    step.dispatch(
      embeddingKernels.backwardTokens,
      { ...base, vocab, wte_off: args.dwte.offset, wpe_off: 0 },
      [tokens.buffer, dout.buffer, args.dwte.buffer],
      [Math.ceil(cols / wg), vocab],
      { ...constants, WG: wg },
    );
  }
  if (args.dwpe !== undefined) {
    if (args.dwpe.length !== seq * cols) throw new Error(`${op}: dwpe has ${args.dwpe.length} elements, expected seq·cols = ${seq * cols}`);
    checkWritableUnaliased(op, [args.dwpe], [dout]);
    step.dispatch(
      embeddingKernels.backwardPositions,
      { ...base, vocab: 0, wte_off: 0, wpe_off: args.dwpe.offset },
      [dout.buffer, args.dwpe.buffer],
      grid1d(seq * cols, WG_1D),
      constants,
    );
  }
}

function checkShape(op: string, args: EmbeddingShape): { n: number; tokens: F32Span } {
  const { cols, seq } = args;
  if (!Number.isInteger(cols) || cols < 1) throw new Error(`${op}: cols must be a positive integer, got ${cols}`);
  if (!Number.isInteger(seq) || seq < 1) throw new Error(`${op}: seq must be a positive integer, got ${seq}`);
  const tokens = asSpan(args.tokens);
  const n = tokens.length;
  if (n === 0) throw new Error(`${op}: no tokens`);
  if (n % seq !== 0) throw new Error(`${op}: ${n} tokens is not a whole number of sequences of ${seq}`);
  if (n * cols > 0xffffffff) throw new Error(`${op}: ${n}·${cols} elements exceed the u32 index range`);
  return { n, tokens };
}

function rowsOfTable(op: string, what: string, table: F32Span, cols: number): number {
  if (table.length === 0 || table.length % cols !== 0) {
    throw new Error(`${op}: ${what} has ${table.length} elements, not a whole number of rows of ${cols}`);
  }
  return table.length / cols;
}
