// Float64 references of shaders/mix.wgsl.
type Vec = ArrayLike<number>;

/**
 * w_self·x + Σ_k w_k·r_k with r_k = received[k·stride .. k·stride + n) and weights = [w_self, w_1..w_K].
 */
export function mixNeighbours(x: Vec, received: Vec, count: number, weights: Vec, stride = x.length): Float64Array {
  const out = Float64Array.from(x, (v) => weights[0] * v);
  for (let k = 0; k < count; k++) {
    const w = weights[k + 1];
    const base = k * stride;
    for (let i = 0; i < out.length; i++) out[i] += w * received[base + i];
  }
  return out;
}

/** x / w of a push-sum state [x_0 .. x_{n−1}, w]. */
export function pushSumDebias(state: Vec): Float64Array {
  const n = state.length - 1;
  return Float64Array.from({ length: n }, (_, i) => state[i] / state[n]);
}
