// 2-D convolution as im2col + the tiled matmul (shaders/matmul.wgsl), on NHWC images:
//
//   forward:  col = im2col(X)            [B·OH·OW × KH·KW·C]   (one dispatch)
//             Y   = act(col · W + bias)  [B·OH·OW × F] = NHWC  (matmul, fused epilogue)
//   backward: dW  = colᵀ · dY, db = Σ dY (one matmul with column sums)
//             dcol = dY · Wᵀ (matmul), dX = col2im(dcol) ⊙ act'(pre of X)  (one dispatch)
//
// NHWC because the matmul writes rows of F channels per output pixel, so a convolution's output is
// already the next layer's NHWC input and a flatten is free. A column of `col` is (ky, kx, c), c
// fastest, so W is stored [KH·KW·C × F]. Padding reads as zero.
//
// col2im is written as a gather (each input element sums the col entries that read it) rather than a
// scatter with atomics: deterministic, and no float atomics are needed.

override WG: u32 = 256;
// 0: none, 1: relu, 2: gelu (tanh approximation, as shaders/elementwise.wgsl): col2im multiplies by
// the derivative of this activation at `pre`.
override ACTIVATION: u32 = 0u;

struct Conv {
  batch: u32,
  height: u32,
  width: u32,
  channels: u32,
  kernel_h: u32,
  kernel_w: u32,
  stride: u32,
  padding: u32,
  out_h: u32,
  out_w: u32,
  in_off: u32,
  out_off: u32,
  pre_off: u32,
}

@group(0) @binding(0) var<uniform> p: Conv;
@group(0) @binding(1) var<storage, read> src: array<f32>;
// im2col writes binding 2; col2im reads the pre-activation there and writes binding 3.
@group(0) @binding(2) var<storage, read_write> col_out: array<f32>;
@group(0) @binding(2) var<storage, read> pre: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_out: array<f32>;

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// One invocation per element of col: row (b, oy, ox), column (ky, kx, c).
@compute @workgroup_size(WG)
fn im2col(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  let cols = p.kernel_h * p.kernel_w * p.channels;
  let rows = p.batch * p.out_h * p.out_w;
  if (i >= rows * cols) { return; }
  let row = i / cols;
  let column = i % cols;
  let b = row / (p.out_h * p.out_w);
  let pixel = row % (p.out_h * p.out_w);
  let oy = pixel / p.out_w;
  let ox = pixel % p.out_w;
  let ky = column / (p.kernel_w * p.channels);
  let kx = (column / p.channels) % p.kernel_w;
  let c = column % p.channels;
  // Signed: padding makes the top-left taps negative.
  let iy = i32(oy * p.stride + ky) - i32(p.padding);
  let ix = i32(ox * p.stride + kx) - i32(p.padding);
  var v = 0.0;
  if (iy >= 0 && iy < i32(p.height) && ix >= 0 && ix < i32(p.width)) {
    v = src[p.in_off + ((b * p.height + u32(iy)) * p.width + u32(ix)) * p.channels + c];
  }
  col_out[p.out_off + i] = v;
}

// @include "lib/activation.wgsl"

// One invocation per input element (b, y, x, c): dX = Σ over the taps that read it of dcol, times
// act'(pre) when ACTIVATION is set. src is dcol [B·OH·OW × KH·KW·C].
@compute @workgroup_size(WG)
fn col2im(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= p.batch * p.height * p.width * p.channels) { return; }
  let c = i % p.channels;
  let x = (i / p.channels) % p.width;
  let y = (i / (p.channels * p.width)) % p.height;
  let b = i / (p.channels * p.width * p.height);
  let cols = p.kernel_h * p.kernel_w * p.channels;
  var sum = 0.0;
  for (var ky = 0u; ky < p.kernel_h; ky++) {
    // oy · stride = y + padding − ky must be a non-negative multiple of stride below out_h.
    let ty = i32(y + p.padding) - i32(ky);
    if (ty < 0 || ty % i32(p.stride) != 0) { continue; }
    let oy = u32(ty) / p.stride;
    if (oy >= p.out_h) { continue; }
    for (var kx = 0u; kx < p.kernel_w; kx++) {
      let tx = i32(x + p.padding) - i32(kx);
      if (tx < 0 || tx % i32(p.stride) != 0) { continue; }
      let ox = u32(tx) / p.stride;
      if (ox >= p.out_w) { continue; }
      let row = (b * p.out_h + oy) * p.out_w + ox;
      sum += src[p.in_off + row * cols + (ky * p.kernel_w + kx) * p.channels + c];
    }
  }
  if (ACTIVATION != 0u) { sum *= activation_derivative(ACTIVATION, pre[p.pre_off + i]); }
  grad_out[p.out_off + i] = sum;
}
