// Elementwise kernels over float32 ranges of flat buffers.
// Every range is (buffer, element offset, n), so one kernel serves whole flat parameter buffers and
// single layout segments alike. 1-D grids are folded into 2-D dispatches (x ≤ 65535 workgroups), and
// each invocation recovers its linear index from num_workgroups.

override WG: u32 = 256;

struct Unary {
  n: u32,
  x_off: u32,
  y_off: u32,
  alpha: f32,
}

struct Binary {
  n: u32,
  x_off: u32,
  y_off: u32,
  z_off: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> u: Unary;
@group(0) @binding(0) var<uniform> b: Binary;

// Bindings differ per entry point; WGSL allows several variables at one binding as long as no entry
// point uses two of them.
@group(0) @binding(1) var<storage, read_write> y_only: array<f32>;
@group(0) @binding(1) var<storage, read> x_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> y_out: array<f32>;
@group(0) @binding(2) var<storage, read> y_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> z_out: array<f32>;

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// y[i] = alpha
@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < u.n) { y_only[u.y_off + i] = u.alpha; }
}

// y[i] *= alpha (in place)
@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < u.n) { y_only[u.y_off + i] = u.alpha * y_only[u.y_off + i]; }
}

// y[y_off + i] = y[x_off + i] within one buffer (ranges must not overlap)
@compute @workgroup_size(WG)
fn copy_within(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < u.n) { y_only[u.y_off + i] = y_only[u.x_off + i]; }
}

// y[i] = alpha * x[i]  (alpha = 1: copy between buffers)
@compute @workgroup_size(WG)
fn scale_copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < u.n) { y_out[u.y_off + i] = u.alpha * x_in[u.x_off + i]; }
}

// y[i] += alpha * x[i]
@compute @workgroup_size(WG)
fn axpy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < u.n) { y_out[u.y_off + i] = fma(u.alpha, x_in[u.x_off + i], y_out[u.y_off + i]); }
}

// z[i] = alpha * x[i] + beta * y[i]  (add: alpha = beta = 1; subtract: beta = -1)
@compute @workgroup_size(WG)
fn axpby(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < b.n) { z_out[b.z_off + i] = b.alpha * x_in[b.x_off + i] + b.beta * y_in[b.y_off + i]; }
}

// y[i] = max(x[i], 0)
@compute @workgroup_size(WG)
fn relu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < u.n) { y_out[u.y_off + i] = max(x_in[u.x_off + i], 0.0); }
}

// g[i] *= (x[i] > 0), with x the pre-activation: the gradient through ReLU, in place.
@compute @workgroup_size(WG)
fn relu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < u.n) { y_out[u.y_off + i] = select(0.0, y_out[u.y_off + i], x_in[u.x_off + i] > 0.0); }
}

// GELU, tanh approximation (as in GPT-2 and BERT): 0.5 x (1 + tanh(c (x + 0.044715 x^3))).
// @include "lib/activation.wgsl"

@compute @workgroup_size(WG)
fn gelu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < u.n) {
    let x = x_in[u.x_off + i];
    y_out[u.y_off + i] = gelu(x);
  }
}

// g[i] *= GELU'(x[i]), in place.
@compute @workgroup_size(WG)
fn gelu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < u.n) {
    y_out[u.y_off + i] = y_out[u.y_off + i] * gelu_derivative(x_in[u.x_off + i]);
  }
}
