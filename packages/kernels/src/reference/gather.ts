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

/**
 * Image r of the output is image indices[r] of `source` ([H·W·C] per image, HWC) translated by
 * (dx[r], dy[r]): out[y, x, c] = src[clamp(y − dy), clamp(x − dx), c], coordinates clamped to the
 * image; an index outside the source gives zeros, as the kernel does.
 */
export function gatherShiftedImages(
  source: Vec,
  image: { channels: number; height: number; width: number },
  indices: Vec,
  dx: Vec,
  dy: Vec,
): Float64Array {
  const { channels, height, width } = image;
  const size = channels * height * width;
  const rows = Math.floor(source.length / size);
  const out = new Float64Array(indices.length * size);
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi - 1);
  for (let r = 0; r < indices.length; r++) {
    if (indices[r] >= rows) continue;
    const base = indices[r] * size;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const from = base + (clamp(y - dy[r], height) * width + clamp(x - dx[r], width)) * channels;
        for (let c = 0; c < channels; c++) out[r * size + (y * width + x) * channels + c] = source[from + c];
      }
    }
  }
  return out;
}
