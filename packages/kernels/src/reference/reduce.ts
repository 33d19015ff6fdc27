// Float64 references of shaders/reduce.wgsl, for tests and as a CPU fallback.
type Vec = ArrayLike<number>;

export interface Segment {
  offset: number;
  length: number;
}

export function sum(x: Vec): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

/** Σ |x|: the scale of a sum's rounding error. */
export function sumAbs(x: Vec): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i]);
  return s;
}

export function dot(x: Vec, y: Vec): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

export function sumSquares(x: Vec): number {
  return dot(x, x);
}

export function norm(x: Vec): number {
  return Math.sqrt(sumSquares(x));
}

/** Σ x² over each segment of x. */
export function segmentSumSquares(x: Vec, segments: readonly Segment[]): Float64Array {
  return Float64Array.from(segments, ({ offset, length }) => {
    let s = 0;
    for (let i = offset; i < offset + length; i++) s += x[i] * x[i];
    return s;
  });
}

/** Argmax per row of a row-major [rows × cols] matrix; ties → lowest index, NaN → largest. */
export function argmaxRows(x: Vec, cols: number): Uint32Array {
  const rows = x.length / cols;
  const out = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) {
      const v = x[r * cols + c];
      const b = x[r * cols + best];
      if (Number.isNaN(b)) break;
      if (Number.isNaN(v) || v > b) best = c;
    }
    out[r] = best;
  }
  return out;
}

/** #{i : a[i] = b[i]}. */
export function countEqual(a: Vec, b: Vec): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) n++;
  return n;
}
