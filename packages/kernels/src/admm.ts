// Network Lasso ADMM edge and dual updates (shaders/admm.wgsl, ALGORITHMS.md §4), batched over edges.
//
// Layout (row-major, `dim` floats per row; every operand a float32/u32 span, offsets in elements):
//   x        [N × dim]   node variables
//   u, z     [C × dim]   one row per directed edge copy. Batched form (all of a graph's edges on one
//                        worker): C = 2E, copy 2e = (i → j) with u_ij, z_ij; copy 2e + 1 = (j → i).
//   edges    u32 [2E]    (i_e, j_e) pairs; edges[c] is the node owning copy c, so the same table is the
//                        `owners` table of admmEdgeMessages and admmUUpdate.
//   weights  f32 [E]     w_e (decentralized form: one per local directed copy, w_ij = w_ji).
//   theta    f32 [E]     θ per edge (θ = ½ exactly: the edge is in consensus).
// Node indices are not checked on the GPU: an index ≥ N reads clamped or zero values (WebGPU's robust
// access), never out of the buffer; validate tables where they are built.
import { defineKernel, type StepEncoder } from '@gossamer/gpu';
import { checkWritableUnaliased } from './binding-rules.js';
import { admm as source } from './generated/shaders.js';
import { asSpan, grid1d, type F32Span } from './span.js';

/** A buffer or span; for u32 tables the span's offset and length count u32 elements. */
type Target = GPUBuffer | F32Span;

const rowsParams = [
  ['copies', 'u32'],
  ['d', 'u32'],
  ['x_off', 'u32'],
  ['in_off', 'u32'],
  ['owners_off', 'u32'],
  ['out_off', 'u32'],
] as const;

export const admmKernels = {
  zUpdateBatched: defineKernel({
    name: 'admm.z_update_batched',
    source,
    entryPoint: 'z_update_batched',
    params: [
      ['edges', 'u32'],
      ['d', 'u32'],
      ['x_off', 'u32'],
      ['u_off', 'u32'],
      ['z_off', 'u32'],
      ['theta_off', 'u32'],
      ['pairs_off', 'u32'],
      ['w_off', 'u32'],
      ['lambda_over_rho', 'f32'],
      ['opaque_zero', 'u32'],
    ],
    storage: ['read', 'read', 'read', 'read', 'read_write', 'read_write'],
  }),
  zUpdateMessages: defineKernel({
    name: 'admm.z_update_messages',
    source,
    entryPoint: 'z_update_messages',
    params: [
      ['copies', 'u32'],
      ['d', 'u32'],
      ['own_off', 'u32'],
      ['recv_off', 'u32'],
      ['z_off', 'u32'],
      ['theta_off', 'u32'],
      ['w_off', 'u32'],
      ['lambda_over_rho', 'f32'],
      ['opaque_zero', 'u32'],
    ],
    storage: ['read', 'read', 'read', 'read_write', 'read_write'],
  }),
  edgeMessages: defineKernel({ name: 'admm.edge_messages', source, entryPoint: 'edge_messages', params: rowsParams, storage: ['read', 'read', 'read', 'read_write'] }),
  uUpdate: defineKernel({ name: 'admm.u_update', source, entryPoint: 'u_update', params: rowsParams, storage: ['read', 'read', 'read', 'read_write'] }),
  /** Test hook: [sqrt_rn(a_i), div_rn(a_i, b_i)] pairs of the integer arithmetic behind θ (copies = n, x_off, in_off). */
  roundingCheck: defineKernel({ name: 'admm.rounding_check', source, entryPoint: 'rounding_check', params: rowsParams, storage: ['read', 'read', 'read_write'] }),
};

/** λ (the Network Lasso penalty) and ρ (the ADMM step / augmented-Lagrangian parameter). */
export interface AdmmPenalty {
  lambda: number;
  rho: number;
}

/**
 * fround(λ/ρ): the one host-side scalar of θ. Both ends of an edge must pass the same λ and ρ; this
 * float64 division is IEEE-exact in every JS engine, so they get the same float32.
 */
export function admmLambdaOverRho(penalty: AdmmPenalty): number {
  const { lambda, rho } = penalty;
  if (!(lambda >= 0 && Number.isFinite(lambda))) throw new Error(`ADMM: λ must be finite and ≥ 0, got ${lambda}`);
  if (!(rho > 0 && Number.isFinite(rho))) throw new Error(`ADMM: ρ must be finite and > 0, got ${rho}`);
  return Math.fround(lambda / rho);
}

export interface AdmmZUpdateArgs {
  /** [N × dim] node variables. */
  x: Target;
  /** [2E × dim] scaled duals, copy 2e = u_ij, 2e + 1 = u_ji. */
  u: Target;
  /** [2E × dim] output. */
  z: Target;
  /** [E] output: θ per edge. */
  theta: Target;
  /** u32 [2E]: (i, j) per edge. */
  edges: Target;
  /** [E] edge weights. */
  weights: Target;
  dim: number;
}

/**
 * z-update of every edge, one invocation per edge: a = x_i + u_ij, b = x_j + u_ji,
 * θ = max(1 − λw/(ρ‖a − b‖), ½) (½ when a = b), z_ij = θa + (1 − θ)b, z_ji = (1 − θ)a + θb.
 * θ is bit-identical to admmThetaF32(admmSquaredDistanceF32(a, b), fround(λ/ρ), w) on any GPU.
 */
export function admmZUpdate(step: StepEncoder, args: AdmmZUpdateArgs, penalty: AdmmPenalty): void {
  const d = checkDim('admmZUpdate', args.dim);
  const [xs, us, zs, ts, es, ws] = [args.x, args.u, args.z, args.theta, args.edges, args.weights].map((t) => asSpan(t));
  const e = ws.length;
  expectLength('admmZUpdate', 'edges', es, 2 * e);
  expectLength('admmZUpdate', 'theta', ts, e);
  expectLength('admmZUpdate', 'u', us, 2 * e * d);
  expectLength('admmZUpdate', 'z', zs, 2 * e * d);
  checkRows('admmZUpdate', 'x', xs, d);
  checkWritableUnaliased('admmZUpdate', [zs, ts], [xs, us, es, ws]);
  step.dispatch(
    admmKernels.zUpdateBatched,
    {
      edges: e,
      d,
      x_off: xs.offset,
      u_off: us.offset,
      z_off: zs.offset,
      theta_off: ts.offset,
      pairs_off: es.offset,
      w_off: ws.offset,
      lambda_over_rho: admmLambdaOverRho(penalty),
      opaque_zero: 0,
    },
    [xs.buffer, us.buffer, es.buffer, ws.buffer, zs.buffer, ts.buffer],
    grid1d(e),
  );
}

export interface AdmmMessageZUpdateArgs {
  /** [C × dim] this worker's messages m_ij = x_i + u_ij, exactly as sent (see admmEdgeMessages). */
  own: Target;
  /** [C × dim] the neighbours' messages m_ji, row c answering own row c. */
  received: Target;
  /** [C] w_ij per local directed copy. */
  weights: Target;
  /** [C × dim] output z_ij. */
  z: Target;
  /** [C] output θ per copy (the neighbour computes the same bits for its copy of the edge). */
  theta: Target;
  dim: number;
}

/**
 * Decentralized z-update: for each local directed copy, a = own message, b = received message,
 * θ as in admmZUpdate, z_ij = θa + (1 − θ)b. Node i never needs z_ji.
 */
export function admmZUpdateFromMessages(step: StepEncoder, args: AdmmMessageZUpdateArgs, penalty: AdmmPenalty): void {
  const d = checkDim('admmZUpdateFromMessages', args.dim);
  const [os, rs, ws, zs, ts] = [args.own, args.received, args.weights, args.z, args.theta].map((t) => asSpan(t));
  const c = ws.length;
  expectLength('admmZUpdateFromMessages', 'own', os, c * d);
  expectLength('admmZUpdateFromMessages', 'received', rs, c * d);
  expectLength('admmZUpdateFromMessages', 'z', zs, c * d);
  expectLength('admmZUpdateFromMessages', 'theta', ts, c);
  checkWritableUnaliased('admmZUpdateFromMessages', [zs, ts], [os, rs, ws]);
  step.dispatch(
    admmKernels.zUpdateMessages,
    {
      copies: c,
      d,
      own_off: os.offset,
      recv_off: rs.offset,
      z_off: zs.offset,
      theta_off: ts.offset,
      w_off: ws.offset,
      lambda_over_rho: admmLambdaOverRho(penalty),
      opaque_zero: 0,
    },
    [os.buffer, rs.buffer, ws.buffer, zs.buffer, ts.buffer],
    grid1d(c),
  );
}

export interface AdmmRowsArgs {
  /** [N × dim] node variables. */
  x: Target;
  /** u32 [C]: the node owning each directed copy (the batched `edges` table serves as is). */
  owners: Target;
  dim: number;
}

/** messages[c] ← x_owner(c) + u[c]: the d-vectors to send, one thread per element. */
export function admmEdgeMessages(step: StepEncoder, args: AdmmRowsArgs & { u: Target; messages: Target }): void {
  const d = checkDim('admmEdgeMessages', args.dim);
  const [xs, us, ns, ms] = [args.x, args.u, args.owners, args.messages].map((t) => asSpan(t));
  dispatchRows(step, admmKernels.edgeMessages, 'admmEdgeMessages', d, xs, us, ns, ms);
}

/** u[c] ← u[c] + x_owner(c) − z[c] for every directed copy, in place, one thread per element. */
export function admmUUpdate(step: StepEncoder, args: AdmmRowsArgs & { z: Target; u: Target }): void {
  const d = checkDim('admmUUpdate', args.dim);
  const [xs, zs, ns, us] = [args.x, args.z, args.owners, args.u].map((t) => asSpan(t));
  dispatchRows(step, admmKernels.uUpdate, 'admmUUpdate', d, xs, zs, ns, us);
}

function dispatchRows(
  step: StepEncoder,
  kernel: typeof admmKernels.uUpdate,
  op: string,
  d: number,
  xs: F32Span,
  rowsIn: F32Span,
  owners: F32Span,
  rowsOut: F32Span,
): void {
  const c = owners.length;
  checkRows(op, 'x', xs, d);
  expectLength(op, 'input rows', rowsIn, c * d);
  expectLength(op, 'output rows', rowsOut, c * d);
  checkWritableUnaliased(op, [rowsOut], [xs, rowsIn, owners]);
  step.dispatch(
    kernel,
    { copies: c, d, x_off: xs.offset, in_off: rowsIn.offset, owners_off: owners.offset, out_off: rowsOut.offset },
    [xs.buffer, rowsIn.buffer, owners.buffer, rowsOut.buffer],
    grid1d(c * d),
  );
}

function checkDim(op: string, d: number): number {
  if (!Number.isInteger(d) || d < 1) throw new Error(`${op}: dim must be an integer ≥ 1, got ${d}`);
  return d;
}

function expectLength(op: string, what: string, s: F32Span, n: number): void {
  if (s.length !== n) throw new Error(`${op}: ${what} has ${s.length} elements, expected ${n}`);
}

function checkRows(op: string, what: string, s: F32Span, d: number): void {
  if (s.length % d !== 0) throw new Error(`${op}: ${what} has ${s.length} floats, not a multiple of dim ${d}`);
}

// ---- host mirror of θ, bit for bit -----------------------------------------------------------------

/**
 * ‖a − b‖² in float32 exactly as the kernels compute it: k = 0..dim−1 in order, each difference,
 * square and sum rounded to float32. Bit-compatible with the GPU (the WGSL blocks fma contraction);
 * assumes no subnormal intermediates (|a_k − b_k| ≥ 2^-63 or 0), where a GPU may flush to zero.
 */
export function admmSquaredDistanceF32(a: ArrayLike<number>, b: ArrayLike<number>, dim = a.length, aOffset = 0, bOffset = 0): number {
  let s = 0;
  for (let k = 0; k < dim; k++) {
    const diff = Math.fround(a[aOffset + k] - b[bOffset + k]);
    s = Math.fround(s + Math.fround(diff * diff));
  }
  return s;
}

/**
 * θ = max(1 − c/‖a − b‖, ½) with c = fround(fround(λ/ρ)·w), from s = admmSquaredDistanceF32(a, b),
 * every step rounded to float32 (sqrt and division correctly rounded: fround of the float64 result
 * is, since float64 has more than 2·24 + 2 bits). The kernels compute the same bits on any GPU.
 */
export function admmThetaF32(squaredDistance: number, lambdaOverRho: number, weight: number): number {
  const s = Math.fround(squaredDistance);
  if (Number.isNaN(s)) return NaN;
  if (s === 0) return 0.5;
  const c = Math.fround(Math.fround(lambdaOverRho) * Math.fround(weight));
  const q = Math.fround(c / Math.fround(Math.sqrt(s)));
  const t = Math.fround(1 - q);
  return Number.isNaN(t) ? t : Math.max(t, 0.5);
}
