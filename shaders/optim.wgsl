// Optimizer updates over float32 ranges of flat buffers: one dispatch updates a whole flat parameter
// buffer (or any segment of it) in place, one invocation per element. Every range is (buffer, element
// offset, n); params, grads and state are separate buffers (WebGPU forbids a writable binding that
// aliases another binding of the same buffer).
//
// The formulas are PyTorch's (torch.optim.SGD / AdamW, maximize = False, foreach or not), so a float64
// reference is unambiguous. Scalars that depend on the step count (bias corrections, the dampening of
// the first momentum step) are computed host-side in float64 and passed in.

override WG: u32 = 256;
// SGD with momentum: Nesterov's variant (PyTorch nesterov=True).
override NESTEROV: bool = false;

struct Sgd {
  n: u32,
  x_off: u32,
  g_off: u32,
  lr: f32,
  weight_decay: f32,
}

struct Momentum {
  n: u32,
  x_off: u32,
  g_off: u32,
  v_off: u32,
  lr: f32,
  weight_decay: f32,
  momentum: f32,
  // 1 − dampening, or 1 on the first step (PyTorch initialises the buffer to the gradient).
  grad_scale: f32,
}

struct AdamW {
  n: u32,
  x_off: u32,
  g_off: u32,
  m_off: u32,
  v_off: u32,
  lr_wd: f32,        // lr · weight_decay
  beta1: f32,
  beta2: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
  step_size: f32,    // lr / (1 − beta1^t)
  inv_sqrt_bc2: f32, // 1 / sqrt(1 − beta2^t)
  eps: f32,
}

@group(0) @binding(0) var<uniform> sgd_p: Sgd;
@group(0) @binding(0) var<uniform> mom_p: Momentum;
@group(0) @binding(0) var<uniform> adam_p: AdamW;

// Bindings: 1 params (read_write), 2 grads (read), 3.. state (read_write).
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> state_a: array<f32>;
@group(0) @binding(4) var<storage, read_write> state_b: array<f32>;

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// SGD: g ← grad + wd·x;  x ← x − lr·g
@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= sgd_p.n) { return; }
  let xi = x[sgd_p.x_off + i];
  let g = fma(sgd_p.weight_decay, xi, grad[sgd_p.g_off + i]);
  x[sgd_p.x_off + i] = fma(-sgd_p.lr, g, xi);
}

// SGD with momentum (PyTorch):
//   g ← grad + wd·x
//   v ← μ·v + s·g            (s = 1 − dampening; s = 1 on the first step, where v = 0)
//   x ← x − lr·v             (classical)
//   x ← x − lr·(g + μ·v)     (Nesterov)
@compute @workgroup_size(WG)
fn sgd_momentum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= mom_p.n) { return; }
  let xi = x[mom_p.x_off + i];
  let g = fma(mom_p.weight_decay, xi, grad[mom_p.g_off + i]);
  let v = fma(mom_p.momentum, state_a[mom_p.v_off + i], mom_p.grad_scale * g);
  state_a[mom_p.v_off + i] = v;
  var update = v;
  if (NESTEROV) { update = fma(mom_p.momentum, v, g); }
  x[mom_p.x_off + i] = fma(-mom_p.lr, update, xi);
}

// AdamW (PyTorch, amsgrad = False):
//   x ← x·(1 − lr·wd)                        (decoupled weight decay, on the old x)
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   x ← x − (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps),   bc_k = 1 − β_k^t
@compute @workgroup_size(WG)
fn adamw(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= adam_p.n) { return; }
  let g = grad[adam_p.g_off + i];
  let m = fma(adam_p.beta1, state_a[adam_p.m_off + i], adam_p.one_minus_beta1 * g);
  let v = fma(adam_p.beta2, state_b[adam_p.v_off + i], adam_p.one_minus_beta2 * g * g);
  state_a[adam_p.m_off + i] = m;
  state_b[adam_p.v_off + i] = v;
  let xi = x[adam_p.x_off + i];
  let decayed = fma(-adam_p.lr_wd, xi, xi);
  let denom = fma(sqrt(v), adam_p.inv_sqrt_bc2, adam_p.eps);
  x[adam_p.x_off + i] = decayed - adam_p.step_size * (m / denom);
}
