// Float64 references of shaders/optim.wgsl (PyTorch's SGD, SGD with momentum / Nesterov, AdamW).
// Each returns the new parameters and state; inputs are not modified.
type Vec = ArrayLike<number>;

export function sgd(x: Vec, grad: Vec, lr: number, weightDecay = 0): Float64Array {
  return Float64Array.from(x, (xi, i) => xi - lr * (grad[i] + weightDecay * xi));
}

export interface MomentumHyper {
  lr: number;
  momentum: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** One step; `t` is 1-based (on t = 1 PyTorch sets v = g, undamped). */
export function sgdMomentum(x: Vec, grad: Vec, velocity: Vec, h: MomentumHyper, t: number): { x: Float64Array; velocity: Float64Array } {
  const n = x.length;
  const nx = new Float64Array(n);
  const nv = new Float64Array(n);
  const wd = h.weightDecay ?? 0;
  for (let i = 0; i < n; i++) {
    const g = grad[i] + wd * x[i];
    const v = t === 1 ? g : h.momentum * velocity[i] + (1 - (h.dampening ?? 0)) * g;
    nv[i] = v;
    nx[i] = x[i] - h.lr * (h.nesterov ? g + h.momentum * v : v);
  }
  return { x: nx, velocity: nv };
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** One step; `t` is 1-based. */
export function adamw(
  x: Vec,
  grad: Vec,
  expAvg: Vec,
  expAvgSq: Vec,
  h: AdamWHyper,
  t: number,
): { x: Float64Array; expAvg: Float64Array; expAvgSq: Float64Array } {
  const n = x.length;
  const nx = new Float64Array(n);
  const nm = new Float64Array(n);
  const nv = new Float64Array(n);
  const bc1 = 1 - h.beta1 ** t;
  const bc2 = 1 - h.beta2 ** t;
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    const m = h.beta1 * expAvg[i] + (1 - h.beta1) * g;
    const v = h.beta2 * expAvgSq[i] + (1 - h.beta2) * g * g;
    nm[i] = m;
    nv[i] = v;
    const denom = Math.sqrt(v) / Math.sqrt(bc2) + h.eps;
    nx[i] = x[i] * (1 - h.lr * h.weightDecay) - (h.lr / bc1) * (m / denom);
  }
  return { x: nx, expAvg: nm, expAvgSq: nv };
}
