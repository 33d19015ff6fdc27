// Float64 references of shaders/clip.wgsl, for tests and as a CPU fallback.
type Vec = ArrayLike<number>;

export function clipByValue(x: Vec, limit: number): Float64Array {
  return Float64Array.from(x, (v) => Math.min(Math.max(v, -limit), limit));
}

/** min(1, maxNorm / norm), 1 for a zero norm. */
export function clipFactor(norm: number, maxNorm: number): number {
  return norm > maxNorm ? maxNorm / norm : 1;
}

export interface ClippedByNorm {
  /** The clipped values of each input, in order. */
  values: Float64Array[];
  /** The global norm before clipping. */
  norm: number;
}

/** Clip several arrays together by their global L2 norm. */
export function clipByGlobalNorm(xs: readonly Vec[], maxNorm: number): ClippedByNorm {
  let ss = 0;
  for (const x of xs) for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const norm = Math.sqrt(ss);
  const f = clipFactor(norm, maxNorm);
  return { values: xs.map((x) => Float64Array.from(x, (v) => v * f)), norm };
}

export interface Segment {
  offset: number;
  length: number;
}

/** Each segment of x clipped by its own norm (or, with global = true, all by their joint norm). */
export function clipSegmentsByNorm(
  x: Vec,
  segments: readonly Segment[],
  maxNorm: number,
  global = false,
): { values: Float64Array; norms: Float64Array } {
  const values = Float64Array.from(x);
  const norms = Float64Array.from(segments, ({ offset, length }) => {
    let s = 0;
    for (let i = offset; i < offset + length; i++) s += x[i] * x[i];
    return Math.sqrt(s);
  });
  const globalNorm = Math.sqrt(norms.reduce((a, n) => a + n * n, 0));
  segments.forEach(({ offset, length }, k) => {
    const f = clipFactor(global ? globalNorm : norms[k], maxNorm);
    for (let i = offset; i < offset + length; i++) values[i] = x[i] * f;
  });
  return { values, norms: global ? Float64Array.of(globalNorm) : norms };
}
