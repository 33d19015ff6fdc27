// Optimizer updates (shaders/optim.wgsl): each is ONE dispatch over a whole flat span, params updated
// in place. Formulas are PyTorch's (torch.optim.SGD and torch.optim.AdamW, maximize = False), so the
// float64 reference in reference/optim.ts is unambiguous; see the WGSL for the exact update order.
import { defineKernel, type StepEncoder } from '@gossamer/gpu';
import { optim as source } from './generated/shaders.js';
import { checkWritableUnaliased } from './binding-rules.js';
import { asSpan, checkSameLength, grid1d, type F32Span } from './span.js';

type Target = GPUBuffer | F32Span;

export const optimKernels = {
  sgd: defineKernel({
    name: 'optim.sgd',
    source,
    entryPoint: 'sgd',
    params: [
      ['n', 'u32'],
      ['x_off', 'u32'],
      ['g_off', 'u32'],
      ['lr', 'f32'],
      ['weight_decay', 'f32'],
    ],
    storage: ['read_write', 'read'],
  }),
  /** Override NESTEROV picks Nesterov's variant. */
  sgdMomentum: defineKernel({
    name: 'optim.sgd_momentum',
    source,
    entryPoint: 'sgd_momentum',
    params: [
      ['n', 'u32'],
      ['x_off', 'u32'],
      ['g_off', 'u32'],
      ['v_off', 'u32'],
      ['lr', 'f32'],
      ['weight_decay', 'f32'],
      ['momentum', 'f32'],
      ['grad_scale', 'f32'],
    ],
    storage: ['read_write', 'read', 'read_write'],
  }),
  adamw: defineKernel({
    name: 'optim.adamw',
    source,
    entryPoint: 'adamw',
    params: [
      ['n', 'u32'],
      ['x_off', 'u32'],
      ['g_off', 'u32'],
      ['m_off', 'u32'],
      ['v_off', 'u32'],
      ['lr_wd', 'f32'],
      ['beta1', 'f32'],
      ['beta2', 'f32'],
      ['one_minus_beta1', 'f32'],
      ['one_minus_beta2', 'f32'],
      ['step_size', 'f32'],
      ['inv_sqrt_bc2', 'f32'],
      ['eps', 'f32'],
    ],
    storage: ['read_write', 'read', 'read_write', 'read_write'],
  }),
};

/** Plain SGD: g = grad + weightDecay·x;  x ← x − lr·g. */
export interface SgdOptions {
  lr: number;
  /** L2 penalty added to the gradient (PyTorch's `weight_decay`); default 0. */
  weightDecay?: number;
}

/**
 * SGD with momentum (PyTorch): g = grad + weightDecay·x;  v ← μ·v + (1 − dampening)·g (v ← g on
 * step 1);  x ← x − lr·v, or with Nesterov x ← x − lr·(g + μ·v).
 */
export interface MomentumOptions {
  lr: number;
  /** μ, in [0, 1). */
  momentum: number;
  /** Default 0; must be 0 with Nesterov (as in PyTorch). */
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * AdamW (PyTorch, amsgrad = False): x ← x·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;
 * v ← β2·v + (1 − β2)·g²;  x ← x − lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps).
 * Defaults are PyTorch's: betas (0.9, 0.999), eps 1e-8, weightDecay 1e-2.
 */
export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export type OptimizerConfig =
  | ({ kind: 'sgd' } & SgdOptions)
  | ({ kind: 'momentum' } & MomentumOptions)
  | ({ kind: 'adamw' } & AdamWOptions);

/** State buffers by name: momentum's velocity, AdamW's first and second moments. */
export type OptimizerStateName = 'velocity' | 'expAvg' | 'expAvgSq';

export interface OptimizerStateSpec {
  readonly name: OptimizerStateName;
  /** float32 elements: the parameter count. */
  readonly length: number;
  /** Every state buffer starts zero-filled (PyTorch's lazy init is equivalent, see MomentumOptions). */
  readonly initialValue: 0;
}

/**
 * An optimizer as model code sees it: its kind and hyper-parameters, and the state buffers it needs
 * for `paramCount` parameters, so the caller can allocate them (zero-filled) next to the parameters.
 */
export interface Optimizer {
  readonly config: OptimizerConfig;
  readonly paramCount: number;
  readonly state: readonly OptimizerStateSpec[];
}

/** State buffers, each a span of `paramCount` floats in a buffer of its own. */
export type OptimizerState = Partial<Record<OptimizerStateName, GPUBuffer | F32Span>>;

const STATE_NAMES: Record<OptimizerConfig['kind'], readonly OptimizerStateName[]> = {
  sgd: [],
  momentum: ['velocity'],
  adamw: ['expAvg', 'expAvgSq'],
};

export function describeOptimizer(config: OptimizerConfig, paramCount: number): Optimizer {
  if (!Number.isInteger(paramCount) || paramCount < 0) throw new Error(`describeOptimizer: bad paramCount ${paramCount}`);
  validateConfig(config);
  const state = STATE_NAMES[config.kind].map((name) => ({ name, length: paramCount, initialValue: 0 as const }));
  return { config, paramCount, state };
}

/** One update of `params` from `grads`; `t` is the 1-based step count, this update included. */
export function optimizerStep(
  step: StepEncoder,
  optimizer: Optimizer,
  params: Target,
  grads: Target,
  state: OptimizerState,
  t: number,
): void {
  const cfg = optimizer.config;
  const need = (name: OptimizerStateName): Target => {
    const s = state[name];
    if (!s) throw new Error(`optimizerStep(${cfg.kind}): missing state buffer '${name}'`);
    return s;
  };
  const n = asSpan(params).length;
  if (n !== optimizer.paramCount) throw new Error(`optimizerStep: ${n} params, optimizer describes ${optimizer.paramCount}`);
  switch (cfg.kind) {
    case 'sgd':
      sgdStep(step, params, grads, cfg);
      return;
    case 'momentum':
      sgdMomentumStep(step, params, grads, need('velocity'), cfg, t);
      return;
    case 'adamw':
      adamwStep(step, params, grads, need('expAvg'), need('expAvgSq'), cfg, t);
      return;
  }
}

/** x ← x − lr·(grad + weightDecay·x), one dispatch. */
export function sgdStep(step: StepEncoder, params: Target, grads: Target, options: SgdOptions): void {
  validateConfig({ kind: 'sgd', ...options });
  const [xs, gs] = [asSpan(params), asSpan(grads)];
  const n = checkSameLength('sgdStep', xs, gs);
  checkWritableUnaliased('sgdStep', [xs], [gs]);
  step.dispatch(
    optimKernels.sgd,
    { n, x_off: xs.offset, g_off: gs.offset, lr: options.lr, weight_decay: options.weightDecay ?? 0 },
    [xs.buffer, gs.buffer],
    grid1d(n),
  );
}

/** SGD with momentum or Nesterov momentum, one dispatch; `t` (1-based) matters only with dampening. */
export function sgdMomentumStep(
  step: StepEncoder,
  params: Target,
  grads: Target,
  velocity: Target,
  options: MomentumOptions,
  t: number,
): void {
  validateConfig({ kind: 'momentum', ...options });
  checkStepCount('sgdMomentumStep', t);
  const [xs, gs, vs] = [asSpan(params), asSpan(grads), asSpan(velocity)];
  const n = checkSameLength('sgdMomentumStep', xs, gs, vs);
  checkWritableUnaliased('sgdMomentumStep', [xs, vs], [gs]);
  // PyTorch sets v = g on the first step; from a zero-filled v that is μ·0 + 1·g.
  const gradScale = t === 1 ? 1 : 1 - (options.dampening ?? 0);
  step.dispatch(
    optimKernels.sgdMomentum,
    {
      n,
      x_off: xs.offset,
      g_off: gs.offset,
      v_off: vs.offset,
      lr: options.lr,
      weight_decay: options.weightDecay ?? 0,
      momentum: options.momentum,
      grad_scale: gradScale,
    },
    [xs.buffer, gs.buffer, vs.buffer],
    grid1d(n),
    { NESTEROV: options.nesterov ?? false },
  );
}

/** AdamW, one dispatch; `t` is the 1-based step count (any size: bias corrections are float64 here). */
export function adamwStep(
  step: StepEncoder,
  params: Target,
  grads: Target,
  expAvg: Target,
  expAvgSq: Target,
  options: AdamWOptions,
  t: number,
): void {
  validateConfig({ kind: 'adamw', ...options });
  checkStepCount('adamwStep', t);
  const [xs, gs, ms, vs] = [asSpan(params), asSpan(grads), asSpan(expAvg), asSpan(expAvgSq)];
  const n = checkSameLength('adamwStep', xs, gs, ms, vs);
  checkWritableUnaliased('adamwStep', [xs, ms, vs], [gs]);
  const { beta1, beta2, eps, weightDecay } = adamwDefaults(options);
  // 1 − β^t in float64: exact enough for any t (β^t underflows to 0 gracefully).
  const bc1 = 1 - beta1 ** t;
  const bc2 = 1 - beta2 ** t;
  step.dispatch(
    optimKernels.adamw,
    {
      n,
      x_off: xs.offset,
      g_off: gs.offset,
      m_off: ms.offset,
      v_off: vs.offset,
      lr_wd: options.lr * weightDecay,
      beta1,
      beta2,
      one_minus_beta1: 1 - beta1,
      one_minus_beta2: 1 - beta2,
      step_size: options.lr / bc1,
      inv_sqrt_bc2: 1 / Math.sqrt(bc2),
      eps,
    },
    [xs.buffer, gs.buffer, ms.buffer, vs.buffer],
    grid1d(n),
  );
}

/** AdamW options with PyTorch's defaults filled in. */
export function adamwDefaults(options: AdamWOptions): Required<AdamWOptions> {
  return {
    lr: options.lr,
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    eps: options.eps ?? 1e-8,
    weightDecay: options.weightDecay ?? 1e-2,
  };
}

function validateConfig(cfg: OptimizerConfig): void {
  const bad = (what: string): never => {
    throw new Error(`${cfg.kind} optimizer: ${what}`);
  };
  const finiteNonNegative = (name: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) bad(`${name} must be finite and ≥ 0, got ${v}`);
  };
  finiteNonNegative('lr', cfg.lr);
  finiteNonNegative('weightDecay', cfg.weightDecay);
  if (cfg.kind === 'momentum') {
    if (!(cfg.momentum >= 0 && cfg.momentum < 1)) bad(`momentum must be in [0, 1), got ${cfg.momentum}`);
    const d = cfg.dampening ?? 0;
    if (!(d >= 0 && d <= 1)) bad(`dampening must be in [0, 1], got ${d}`);
    if (cfg.nesterov && (cfg.momentum <= 0 || d !== 0)) bad('Nesterov momentum needs momentum > 0 and dampening 0');
  } else if (cfg.kind === 'adamw') {
    const { beta1, beta2, eps } = adamwDefaults(cfg);
    if (!(beta1 >= 0 && beta1 < 1)) bad(`beta1 must be in [0, 1), got ${beta1}`);
    if (!(beta2 >= 0 && beta2 < 1)) bad(`beta2 must be in [0, 1), got ${beta2}`);
    if (!(eps > 0 && Number.isFinite(eps))) bad(`eps must be finite and > 0, got ${eps}`);
  }
}

function checkStepCount(op: string, t: number): void {
  if (!Number.isInteger(t) || t < 1) throw new Error(`${op}: step count t must be an integer ≥ 1 (1 on the first update), got ${t}`);
}

/** A range of a flat parameter span, in elements relative to the span's start. */
export interface ParamRange {
  readonly offset: number;
  readonly length: number;
}

/** One AdamW dispatch of adamwStepSelectiveDecay: a maximal run of elements with one decay setting. */
export interface DecayInterval extends ParamRange {
  readonly decay: boolean;
}

/**
 * Splits [0, n) into maximal intervals that are all in `noDecay` (decay false) or all outside it
 * (decay true), in order. Throws on ranges out of [0, n) or overlapping each other; adjacent
 * ranges merge, empty ones are ignored.
 */
export function decayIntervals(n: number, noDecay: readonly ParamRange[]): DecayInterval[] {
  const ranges = noDecay.filter((r) => r.length !== 0).slice().sort((a, b) => a.offset - b.offset);
  const out: DecayInterval[] = [];
  const push = (offset: number, length: number, decay: boolean) => {
    if (length === 0) return;
    const last = out[out.length - 1];
    if (last && last.decay === decay) out[out.length - 1] = { offset: last.offset, length: last.length + length, decay };
    else out.push({ offset, length, decay });
  };
  let at = 0;
  for (const r of ranges) {
    if (!Number.isInteger(r.offset) || !Number.isInteger(r.length) || r.offset < 0 || r.length < 0 || r.offset + r.length > n) {
      throw new Error(`decayIntervals: range [${r.offset}, ${r.offset + r.length}) is not within [0, ${n})`);
    }
    if (r.offset < at) throw new Error(`decayIntervals: range [${r.offset}, ${r.offset + r.length}) overlaps another`);
    push(at, r.offset - at, true);
    push(r.offset, r.length, false);
    at = r.offset + r.length;
  }
  push(at, n - at, true);
  return out;
}

/**
 * AdamW over a whole flat parameter span with decoupled weight decay everywhere except the
 * `noDecay` ranges (a GPT's LayerNorm gains, biases and embeddings), which get weight decay 0. One
 * adamwStep dispatch per maximal interval (see decayIntervals): every element is updated exactly
 * once, and each interval's update is that of adamwStep on its range.
 */
export function adamwStepSelectiveDecay(
  step: StepEncoder,
  params: Target,
  grads: Target,
  expAvg: Target,
  expAvgSq: Target,
  options: AdamWOptions,
  t: number,
  noDecay: readonly ParamRange[],
): void {
  const spans = [asSpan(params), asSpan(grads), asSpan(expAvg), asSpan(expAvgSq)] as const;
  const n = checkSameLength('adamwStepSelectiveDecay', ...spans);
  const sub = (s: F32Span, r: ParamRange): F32Span => ({ buffer: s.buffer, offset: s.offset + r.offset, length: r.length });
  const weightDecay = adamwDefaults(options).weightDecay;
  for (const r of decayIntervals(n, noDecay)) {
    const [x, g, m, v] = spans.map((s) => sub(s, r));
    adamwStep(step, x, g, m, v, { ...options, weightDecay: r.decay ? weightDecay : 0 }, t);
  }
}
