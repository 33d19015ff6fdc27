// Float64 references of shaders/admm.wgsl (Network Lasso ADMM, ALGORITHMS.md §4), same layouts as
// src/admm.ts: x [N × d], u/z [C × d] (batched: C = 2E, copy 2e = i → j, 2e + 1 = j → i),
// edges [2E] = (i, j) pairs, weights [E].
type Vec = ArrayLike<number>;

/** θ = max(1 − λw/(ρ‖a − b‖), ½), ½ when a = b. */
export function theta(distance: number, lambda: number, rho: number, weight: number): number {
  if (distance === 0) return 0.5;
  return Math.max(1 - (lambda * weight) / (rho * distance), 0.5);
}

export function zUpdate(
  x: Vec,
  u: Vec,
  edges: Vec,
  weights: Vec,
  d: number,
  lambda: number,
  rho: number,
): { z: Float64Array; theta: Float64Array } {
  const e = weights.length;
  const z = new Float64Array(2 * e * d);
  const th = new Float64Array(e);
  const a = new Float64Array(d);
  const b = new Float64Array(d);
  for (let k = 0; k < e; k++) {
    const i = edges[2 * k];
    const j = edges[2 * k + 1];
    let s = 0;
    for (let t = 0; t < d; t++) {
      a[t] = x[i * d + t] + u[2 * k * d + t];
      b[t] = x[j * d + t] + u[(2 * k + 1) * d + t];
      s += (a[t] - b[t]) ** 2;
    }
    const q = theta(Math.sqrt(s), lambda, rho, weights[k]);
    th[k] = q;
    for (let t = 0; t < d; t++) {
      z[2 * k * d + t] = q * a[t] + (1 - q) * b[t];
      z[(2 * k + 1) * d + t] = (1 - q) * a[t] + q * b[t];
    }
  }
  return { z, theta: th };
}

/** Decentralized form: row c of own = m_ij, of received = m_ji; z_ij = θ m_ij + (1 − θ) m_ji. */
export function zUpdateFromMessages(
  own: Vec,
  received: Vec,
  weights: Vec,
  d: number,
  lambda: number,
  rho: number,
): { z: Float64Array; theta: Float64Array } {
  const c = weights.length;
  const z = new Float64Array(c * d);
  const th = new Float64Array(c);
  for (let r = 0; r < c; r++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += (own[r * d + t] - received[r * d + t]) ** 2;
    const q = theta(Math.sqrt(s), lambda, rho, weights[r]);
    th[r] = q;
    for (let t = 0; t < d; t++) z[r * d + t] = q * own[r * d + t] + (1 - q) * received[r * d + t];
  }
  return { z, theta: th };
}

/** messages[c] = x_owner(c) + u[c]. */
export function edgeMessages(x: Vec, u: Vec, owners: Vec, d: number): Float64Array {
  return Float64Array.from({ length: owners.length * d }, (_, i) => x[owners[Math.floor(i / d)] * d + (i % d)] + u[i]);
}

/** u[c] + x_owner(c) − z[c]. */
export function uUpdate(x: Vec, z: Vec, u: Vec, owners: Vec, d: number): Float64Array {
  return Float64Array.from({ length: owners.length * d }, (_, i) => u[i] + x[owners[Math.floor(i / d)] * d + (i % d)] - z[i]);
}
