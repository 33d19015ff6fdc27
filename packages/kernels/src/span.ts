/**
 * A float32 range of a GPU buffer: `length` elements starting at element `offset`. Kernels take
 * spans so that one kernel serves a whole flat parameter buffer and any segment of it.
 */
export interface F32Span {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly length: number;
}

/** The span of a whole buffer, or of `length` elements from `offset`. */
export function span(buffer: GPUBuffer, offset = 0, length = buffer.size / 4 - offset): F32Span {
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`span: bad offset ${offset}`);
  if (!Number.isInteger(length) || length < 0) throw new Error(`span: bad length ${length}`);
  if ((offset + length) * 4 > buffer.size) {
    throw new Error(`span: [${offset}, ${offset + length}) exceeds buffer ${buffer.label || ''} of ${buffer.size / 4} floats`);
  }
  return { buffer, offset, length };
}

export function isSpan(x: GPUBuffer | F32Span): x is F32Span {
  return 'buffer' in x && 'length' in x;
}

/** Accepts a buffer (whole) or a span. */
export function asSpan(x: GPUBuffer | F32Span): F32Span {
  return isSpan(x) ? x : span(x);
}

export function checkSameLength(op: string, ...spans: F32Span[]): number {
  const n = spans[0].length;
  for (const s of spans) {
    if (s.length !== n) throw new Error(`${op}: length mismatch (${spans.map((t) => t.length).join(' vs ')})`);
  }
  return n;
}

/** Workgroup size of 1-D kernels (the WG override's default in the WGSL files). */
export const WG_1D = 256;

/**
 * Workgroup counts covering `n` invocations of `wg` threads, folded into 2-D so no dimension exceeds
 * 65,535. Kernels recover the linear index as gid.x + gid.y * num_workgroups.x * WG.
 */
export function grid1d(n: number, wg = WG_1D, maxPerDim = 65535): [number, number] {
  const groups = Math.ceil(n / wg);
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}
