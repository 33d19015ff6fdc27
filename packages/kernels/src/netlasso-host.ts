// Host-side pieces of the Network Lasso node kernels (shaders/netlasso.wgsl) that the kernel wrappers
// (netlasso.ts) and their float64 references (reference/netlasso.ts) share: the Newton losses and
// their codes, the CSR layouts, and the ridge normal equations the factor cache is built from.
type Vec = ArrayLike<number>;

/** Losses solved by Newton steps (shaders/netlasso.wgsl's LOSS override, in this order). */
export type NewtonLossKind = 'logistic' | 'squaredHinge' | 'smoothedHinge' | 'ocsvm';

export const NEWTON_LOSS_CODE: Readonly<Record<NewtonLossKind, number>> = { logistic: 0, squaredHinge: 1, smoothedHinge: 2, ocsvm: 3 };

/**
 * A Newton-solved local loss. Margin losses: f(x) = (μ/2)‖x‖² + C Σ_s ℓ(y_s a_sᵀx).
 * One-class SVM (x = (w, r), d = featureDim + 1): f = ½‖w‖² − r + (1/(ν n_i)) Σ_s H_h(r − wᵀφ_s);
 * here `scale` = 1/ν and `mu` is unused.
 */
export interface NewtonLoss {
  readonly kind: NewtonLossKind;
  readonly mu: number;
  readonly scale: number;
  /** h of the smoothed hinges (ignored by logistic and squared hinge). */
  readonly smoothing: number;
}

/** Node i's copies: list[start[i] .. start[i+1]) are the rows of z/u held for i's edges. */
export interface NodeCopies {
  readonly start: Vec;
  readonly list: Vec;
}

/** Training samples: node i's are start[i] .. start[i+1]; features row-major [S × featureDim]. */
export interface NodeSamples {
  readonly features: Vec;
  readonly labels: Vec;
  readonly start: Vec;
  readonly featureDim: number;
}

/** 2AᵀA + 2μI and 2Aᵀb of node i's samples. */
export function ridgeNormalEquations(samples: NodeSamples, node: number, d: number, mu: number): { gram: Float64Array; atb: Float64Array } {
  const gram = new Float64Array(d * d);
  const atb = new Float64Array(d);
  const p = samples.featureDim;
  for (let s = samples.start[node]; s < samples.start[node + 1]; s++) {
    for (let r = 0; r < d; r++) {
      const ar = samples.features[s * p + r];
      atb[r] += 2 * ar * samples.labels[s];
      for (let c = 0; c < d; c++) gram[r * d + c] += 2 * ar * samples.features[s * p + c];
    }
  }
  for (let k = 0; k < d; k++) gram[k * d + k] += 2 * mu;
  return { gram, atb };
}
