// Float64 reference of shaders/gather.wgsl, for tests and as a CPU fallback.
type Vec = ArrayLike<number>;

/**
 * out[r·rowLength + c] = source[indices[r]·rowLength + c]; an index outside the source's rows gives
 * a row of zeros, as the kernel does.
 */
export function gatherRows(source: Vec, rowLength: number, indices: Vec): Float64Array {
  const rows = Math.floor(source.length / rowLength);
  const out = new Float64Array(indices.length * rowLength);
  for (let r = 0; r < indices.length; r++) {
    const row = indices[r];
    if (row >= rows) continue;
    for (let c = 0; c < rowLength; c++) out[r * rowLength + c] = source[row * rowLength + c];
  }
  return out;
}
