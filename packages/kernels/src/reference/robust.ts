// Float64 references of shaders/robust.wgsl (formulas and NaN rules: robust.ts). Vector 0 is x; vector
// j ≥ 1 is received[(j − 1)·stride ..).
type Vec = ArrayLike<number>;

function vectors(x: Vec, received: Vec, count: number, stride: number): Vec[] {
  const p = x.length;
  const out: Vec[] = [x];
  for (let j = 0; j < count; j++) out.push(Array.prototype.slice.call(received, j * stride, j * stride + p) as number[]);
  return out;
}

function dist2(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/** Σ_j c_j·v_j over the vectors with c_j ≠ 0 (a zero coefficient drops the vector, NaN and all). */
function weighted(vs: Vec[], c: readonly number[]): Float64Array {
  const out = new Float64Array(vs[0].length);
  vs.forEach((v, j) => {
    if (c[j] !== 0) for (let i = 0; i < out.length; i++) out[i] += c[j] * v[i];
  });
  return out;
}

/** MoNNA's NNA: mean of the n − f vectors nearest x (x included); non-finite distances rank last. */
export function nna(x: Vec, received: Vec, count: number, f: number, stride = x.length): Float64Array {
  const vs = vectors(x, received, count, stride);
  const key = vs.map((v) => {
    const d = dist2(v, x);
    return Number.isFinite(d) ? d : Infinity;
  });
  const order = vs.map((_, j) => j).sort((a, b) => key[a] - key[b] || a - b);
  const keep = vs.length - f;
  const c = vs.map(() => 0);
  for (const j of order.slice(0, keep)) c[j] = 1 / keep;
  return weighted(vs, c);
}

/** The total order of robust.wgsl: NaN above +∞. */
function compare(a: number, b: number): number {
  const na = Number.isNaN(a);
  const nb = Number.isNaN(b);
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Per coordinate: sort the n values, average sorted positions [lo, hi). */
function sortedMean(x: Vec, received: Vec, count: number, lo: number, hi: number, stride: number): Float64Array {
  const vs = vectors(x, received, count, stride);
  return Float64Array.from({ length: x.length }, (_, i) => {
    const col = vs.map((v) => v[i]).sort(compare);
    let s = 0;
    for (let r = lo; r < hi; r++) s += col[r];
    return s / (hi - lo);
  });
}

/** Coordinate-wise trimmed mean: drop the f smallest and f largest of each coordinate. */
export function trimmedMean(x: Vec, received: Vec, count: number, f: number, stride = x.length): Float64Array {
  return sortedMean(x, received, count, f, count + 1 - f, stride);
}

/** Coordinate-wise median (mean of the two middle values when n = K + 1 is even). */
export function median(x: Vec, received: Vec, count: number, stride = x.length): Float64Array {
  const f = Math.floor(count / 2);
  return sortedMean(x, received, count, f, count + 1 - f, stride);
}

/**
 * Smoothed Weiszfeld from z_0 = the coordinate-wise median (start 'median'), NNA with f = ⌊K/2⌋
 * ('nna') or x ('own'):
 * β_j = 1/max(ν, ‖x_j − z‖), z ← Σ β_j x_j / Σ β_j.
 */
export function geometricMedian(
  x: Vec,
  received: Vec,
  count: number,
  iterations: number,
  nu: number,
  start: 'median' | 'nna' | 'own' = 'median',
  stride = x.length,
): Float64Array {
  const vs = vectors(x, received, count, stride);
  let z: Vec = start === 'median' ? median(x, received, count, stride) : start === 'nna' ? nna(x, received, count, Math.floor(count / 2), stride) : x;
  for (let t = 0; t < iterations; t++) {
    const beta = vs.map((v) => {
      const d = Math.sqrt(dist2(v, z));
      return Number.isFinite(d) ? 1 / Math.max(nu, d) : 0;
    });
    const sum = beta.reduce((a, b) => a + b, 0);
    z = weighted(vs, sum === 0 ? vs.map((_, j) => (j === 0 ? 1 : 0)) : beta.map((b) => b / sum));
  }
  return Float64Array.from(z);
}

/** ClippedGossip: x + Σ_j w_j·clip_τ(x_j − x), weights = [w_self (unused), w_1..w_K]. */
export function clippedGossip(x: Vec, received: Vec, count: number, weights: Vec, tau: number, stride = x.length): Float64Array {
  const vs = vectors(x, received, count, stride);
  const out = Float64Array.from(x);
  for (let j = 1; j < vs.length; j++) {
    const norm = Math.sqrt(dist2(vs[j], x));
    const scale = tau === Infinity ? 1 : !Number.isFinite(norm) ? 0 : norm > tau ? tau / norm : 1;
    const c = weights[j] * scale;
    if (c !== 0) for (let i = 0; i < out.length; i++) out[i] += c * (vs[j][i] - x[i]);
  }
  return out;
}
