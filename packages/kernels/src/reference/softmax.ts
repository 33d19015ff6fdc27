// Float64 references of shaders/softmax.wgsl, for tests and as a CPU fallback.
type Vec = ArrayLike<number>;

/** Row softmax of a row-major [rows × cols] matrix, max-subtracted. */
export function softmaxRows(z: Vec, cols: number): Float64Array {
  const out = new Float64Array(z.length);
  for (let base = 0; base < z.length; base += cols) {
    let m = -Infinity;
    for (let i = 0; i < cols; i++) m = Math.max(m, z[base + i]);
    let s = 0;
    for (let i = 0; i < cols; i++) s += Math.exp(z[base + i] - m);
    for (let i = 0; i < cols; i++) out[base + i] = Math.exp(z[base + i] - m) / s;
  }
  return out;
}

export interface CrossEntropy {
  /** logsumexp(z_r) − z_r[label_r]; NaN for a label ≥ cols. */
  rowLoss: Float64Array;
  meanLoss: number;
  /** (softmax(z) − onehot(label)) · gradScale; NaN rows for labels ≥ cols. */
  grad: Float64Array;
}

/** Softmax cross-entropy of [rows × cols] logits against one label per row (gradScale default 1/rows). */
export function crossEntropy(z: Vec, labels: Vec, cols: number, gradScale?: number): CrossEntropy {
  const rows = z.length / cols;
  const scale = gradScale ?? 1 / rows;
  const rowLoss = new Float64Array(rows);
  const grad = softmaxRows(z, cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const label = labels[r];
    let m = -Infinity;
    for (let i = 0; i < cols; i++) m = Math.max(m, z[base + i]);
    let s = 0;
    for (let i = 0; i < cols; i++) s += Math.exp(z[base + i] - m);
    const valid = Number.isInteger(label) && label >= 0 && label < cols;
    rowLoss[r] = valid ? Math.log(s) - (z[base + label] - m) : NaN;
    for (let i = 0; i < cols; i++) {
      grad[base + i] = valid ? (grad[base + i] - (i === label ? 1 : 0)) * scale : NaN;
    }
  }
  let total = 0;
  for (const l of rowLoss) total += l;
  return { rowLoss, meanLoss: total / rows, grad };
}

/** Mean cross-entropy only (for finite differences). */
export function meanCrossEntropy(z: Vec, labels: Vec, cols: number): number {
  return crossEntropy(z, labels, cols).meanLoss;
}
