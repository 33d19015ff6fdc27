// Float64 reference of shaders/conv.wgsl (see ../conv.ts): im2col and its adjoint on NHWC images,
// and a direct convolution to check im2col + matmul against.
type Vec = ArrayLike<number>;

export interface ConvReferenceGeometry {
  batch: number;
  height: number;
  width: number;
  channels: number;
  kernelH: number;
  kernelW: number;
  stride: number;
  padding: number;
}

export function outputSize(g: ConvReferenceGeometry): { outH: number; outW: number } {
  return {
    outH: Math.floor((g.height + 2 * g.padding - g.kernelH) / g.stride) + 1,
    outW: Math.floor((g.width + 2 * g.padding - g.kernelW) / g.stride) + 1,
  };
}

/** Visits every (col row, col column, input index or -1 for padding) of the im2col matrix. */
function forEachTap(g: ConvReferenceGeometry, visit: (row: number, column: number, input: number) => void): void {
  const { outH, outW } = outputSize(g);
  const cols = g.kernelH * g.kernelW * g.channels;
  for (let b = 0; b < g.batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const row = (b * outH + oy) * outW + ox;
        for (let ky = 0; ky < g.kernelH; ky++) {
          for (let kx = 0; kx < g.kernelW; kx++) {
            const iy = oy * g.stride + ky - g.padding;
            const ix = ox * g.stride + kx - g.padding;
            const inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width;
            for (let c = 0; c < g.channels; c++) {
              const column = (ky * g.kernelW + kx) * g.channels + c;
              visit(row * cols + column, column, inside ? ((b * g.height + iy) * g.width + ix) * g.channels + c : -1);
            }
          }
        }
      }
    }
  }
}

export function im2col(images: Vec, g: ConvReferenceGeometry): Float64Array {
  const { outH, outW } = outputSize(g);
  const out = new Float64Array(g.batch * outH * outW * g.kernelH * g.kernelW * g.channels);
  forEachTap(g, (at, _column, input) => {
    out[at] = input < 0 ? 0 : images[input];
  });
  return out;
}

/** The adjoint of im2col, optionally times `scale[i]` per input element (an activation derivative). */
export function col2im(dcol: Vec, g: ConvReferenceGeometry, scale?: Vec): Float64Array {
  const out = new Float64Array(g.batch * g.height * g.width * g.channels);
  forEachTap(g, (at, _column, input) => {
    if (input >= 0) out[input] += dcol[at];
  });
  if (scale) for (let i = 0; i < out.length; i++) out[i] *= scale[i];
  return out;
}

/** Direct convolution: Y[b, oy, ox, f] = Σ W[(ky, kx, c), f] · X[b, iy, ix, c] + bias[f]. */
export function conv2d(images: Vec, weights: Vec, bias: Vec | undefined, filters: number, g: ConvReferenceGeometry): Float64Array {
  const { outH, outW } = outputSize(g);
  const cols = g.kernelH * g.kernelW * g.channels;
  const out = new Float64Array(g.batch * outH * outW * filters);
  forEachTap(g, (at, column, input) => {
    if (input < 0) return;
    const row = Math.floor(at / cols);
    for (let f = 0; f < filters; f++) out[row * filters + f] += weights[column * filters + f] * images[input];
  });
  if (bias) for (let i = 0; i < out.length; i++) out[i] += bias[i % filters];
  return out;
}
