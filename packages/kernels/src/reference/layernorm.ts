// Float64 references of shaders/layernorm.wgsl (LayerNorm over rows, PyTorch's biased variance).
type Vec = ArrayLike<number>;

export interface LayerNormForward {
  y: Float64Array;
  /** μ per row. */
  mean: Float64Array;
  /** 1 / sqrt(var + eps) per row. */
  rstd: Float64Array;
}

/** y = (x − μ)·rstd·γ + β over each row of a [rows × cols] matrix. */
export function layerNormForward(x: Vec, gamma: Vec, beta: Vec, cols: number, eps = 1e-5): LayerNormForward {
  const rows = x.length / cols;
  const y = new Float64Array(x.length);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let s = 0;
    for (let i = 0; i < cols; i++) s += x[base + i];
    const mu = s / cols;
    let q = 0;
    for (let i = 0; i < cols; i++) q += (x[base + i] - mu) ** 2;
    const rs = 1 / Math.sqrt(q / cols + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let i = 0; i < cols; i++) y[base + i] = (x[base + i] - mu) * rs * gamma[i] + beta[i];
  }
  return { y, mean, rstd };
}

export interface LayerNormBackward {
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
}

/** Gradients of a loss with upstream gradient dy = dL/dy, from scratch (no saved statistics). */
export function layerNormBackward(x: Vec, gamma: Vec, dy: Vec, cols: number, eps = 1e-5): LayerNormBackward {
  const rows = x.length / cols;
  const { mean, rstd } = layerNormForward(x, gamma, new Float64Array(cols), cols, eps);
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(cols);
  const dbeta = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let a = 0;
    let b = 0;
    for (let i = 0; i < cols; i++) {
      const xh = (x[base + i] - mean[r]) * rstd[r];
      const gg = dy[base + i] * gamma[i];
      a += gg;
      b += gg * xh;
      dgamma[i] += dy[base + i] * xh;
      dbeta[i] += dy[base + i];
    }
    for (let i = 0; i < cols; i++) {
      const xh = (x[base + i] - mean[r]) * rstd[r];
      dx[base + i] = rstd[r] * (dy[base + i] * gamma[i] - a / cols - (xh * b) / cols);
    }
  }
  return { dx, dgamma, dbeta };
}
