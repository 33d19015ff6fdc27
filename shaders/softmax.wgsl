// Row softmax and fused softmax + cross-entropy over [rows × cols] row-major float32 logits.
//
// One workgroup per row (2-D grid for many rows). Pass 1 is an online max-and-sum: each invocation
// keeps (m, s) = (running max, Σ exp(z − m)) over a strided slice of the row, rescaling s when the
// max grows, and a workgroup tree merges the pairs. So the row is read once for the statistics and
// once for the output, any cols works (C = 100003 is ~390 elements per invocation), and nothing
// overflows: every exponent is z − max ≤ 0.
//
// Cross-entropy: loss = log Σ exp(z − m) − (z[label] − m)   (= logsumexp(z) − z[label])
//                dlogits = (softmax(z) − onehot(label)) · grad_scale   (grad_scale = 1/B for a mean)
// A label ≥ cols gives a NaN loss and a NaN gradient row: out-of-range labels are a data bug, and NaN
// makes it impossible to miss (the host checks labels it uploads, see validateLabels).

override WG: u32 = 256; // a power of two

struct Rows {
  rows: u32,
  cols: u32,
  z_off: u32,
  label_off: u32,
  loss_off: u32,
  out_off: u32,    // gradient or probabilities
  grad_scale: f32,
}

@group(0) @binding(0) var<uniform> p: Rows;

// Logits are read-only unless the output shares their buffer (the *_shared entry points, e.g. the
// gradient written over the logits in place).
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> zs: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;

var<workgroup> wstat: array<vec2f, WG>;

// (m, s) after one more element v; s = 0 marks "no element yet".
fn push(st: vec2f, v: f32) -> vec2f {
  if (st.y == 0.0) { return vec2f(v, 1.0); }
  if (v > st.x) { return vec2f(v, fma(st.y, exp(st.x - v), 1.0)); }
  return vec2f(st.x, st.y + exp(v - st.x));
}

fn merge(a: vec2f, b: vec2f) -> vec2f {
  if (b.y == 0.0) { return a; }
  if (a.y == 0.0) { return b; }
  let m = max(a.x, b.x);
  return vec2f(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

// Row statistics (max, Σ exp(z − max)) from each invocation's partial, uniform across the workgroup.
fn row_stats(lid: u32, st: vec2f) -> vec2f {
  wstat[lid] = st;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { wstat[lid] = merge(wstat[lid], wstat[lid + s]); }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&wstat[0]);
}

fn row_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// A quiet NaN (payload: low bits of the label). Built from a runtime value: WGSL rejects a NaN in a
// constant expression.
fn nan_for(label: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (label & 0x3fffffu));
}

// log Σ exp − (z[label] − m), or NaN for an out-of-range label.
fn row_loss(stats: vec2f, label: u32, z_label: f32) -> f32 {
  if (label >= p.cols) { return nan_for(label); }
  return log(stats.y) - (z_label - stats.x);
}

// Cross-entropy loss per row (evaluation: no gradient).
@compute @workgroup_size(WG)
fn xent_loss(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let base = p.z_off + row * p.cols;
  var st = vec2f(0.0);
  for (var i = lid; i < p.cols; i += WG) { st = push(st, z[base + i]); }
  let stats = row_stats(lid, st);
  if (lid == 0u) {
    let label = labels[p.label_off + row];
    loss[p.loss_off + row] = row_loss(stats, label, z[base + min(label, p.cols - 1u)]);
  }
}

// Loss per row and dlogits into a separate buffer.
@compute @workgroup_size(WG)
fn xent_loss_grad(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let base = p.z_off + row * p.cols;
  let label = labels[p.label_off + row];
  var st = vec2f(0.0);
  for (var i = lid; i < p.cols; i += WG) { st = push(st, z[base + i]); }
  let stats = row_stats(lid, st);
  let valid = label < p.cols;
  if (lid == 0u) { loss[p.loss_off + row] = row_loss(stats, label, z[base + min(label, p.cols - 1u)]); }
  let inv_s = 1.0 / stats.y;
  let gbase = p.out_off + row * p.cols;
  for (var i = lid; i < p.cols; i += WG) {
    let q = exp(z[base + i] - stats.x) * inv_s - select(0.0, 1.0, i == label);
    grad[gbase + i] = select(nan_for(label), q * p.grad_scale, valid);
  }
}

// The same with logits and gradient in one buffer (in place when out_off = z_off). z[label] is read
// before the tree's barriers, so no invocation has overwritten it yet.
@compute @workgroup_size(WG)
fn xent_loss_grad_shared(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let base = p.z_off + row * p.cols;
  let label = labels[p.label_off + row];
  let valid = label < p.cols;
  let z_label = zs[base + min(label, p.cols - 1u)];
  var st = vec2f(0.0);
  for (var i = lid; i < p.cols; i += WG) { st = push(st, zs[base + i]); }
  let stats = row_stats(lid, st);
  if (lid == 0u) { loss[p.loss_off + row] = row_loss(stats, label, z_label); }
  let inv_s = 1.0 / stats.y;
  let gbase = p.out_off + row * p.cols;
  for (var i = lid; i < p.cols; i += WG) {
    let q = exp(zs[base + i] - stats.x) * inv_s - select(0.0, 1.0, i == label);
    zs[gbase + i] = select(nan_for(label), q * p.grad_scale, valid);
  }
}

// Probabilities softmax(z) per row into a separate buffer.
@compute @workgroup_size(WG)
fn softmax_rows(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let base = p.z_off + row * p.cols;
  var st = vec2f(0.0);
  for (var i = lid; i < p.cols; i += WG) { st = push(st, z[base + i]); }
  let stats = row_stats(lid, st);
  let inv_s = 1.0 / stats.y;
  let obase = p.out_off + row * p.cols;
  for (var i = lid; i < p.cols; i += WG) { probs[obase + i] = exp(z[base + i] - stats.x) * inv_s; }
}

// The same with logits and probabilities in one buffer (in place when out_off = z_off).
@compute @workgroup_size(WG)
fn softmax_rows_shared(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let base = p.z_off + row * p.cols;
  var st = vec2f(0.0);
  for (var i = lid; i < p.cols; i += WG) { st = push(st, zs[base + i]); }
  let stats = row_stats(lid, st);
  let inv_s = 1.0 / stats.y;
  let obase = p.out_off + row * p.cols;
  for (var i = lid; i < p.cols; i += WG) { zs[obase + i] = exp(zs[base + i] - stats.x) * inv_s; }
}
