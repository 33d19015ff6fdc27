// CO2's outer update (ALGORITHMS.md §3; Sun et al., ICLR 2024), also SlowMo's and Local SGD's as its
// limits, on flat float32 buffers laid out by a segment table (one segment per model tensor, cut into
// blocks; see packages/kernels/src/reduce-encode.ts). One workgroup per block, so per-tensor
// quantities (the gap penalty) are known to every invocation.
//
//   g  ← r − x̄                 pseudo-gradient; r = a_prev (stale: x̄ is the previous round's average)
//                                or r = a (no staleness)
//   g  ← Penalty(g)             none | constant: g/λ | gap: g^ℓ / (1 + κ‖a^ℓ − x̄^ℓ‖ / (‖g^ℓ‖ + ε))
//   m  ← β m + g
//   m  ← Clip(m)                none | value: clamp(m, −φ, φ) | norm: m · min(1, φ/‖m‖)
//   a_prev ← a;  a ← a − α m;  x ← a
//
// The anchor update is evaluated as x̄ + ((a − x̄) − α m): the same value in exact arithmetic, but in
// float32 it makes the Local SGD limit (β = 0, α = 1, no penalty, no clip, no staleness) give exactly
// x̄, since then m = a − x̄ bit for bit and (a − x̄) − m = 0. `a − α m` would round to a − (a − x̄) ≠ x̄.
//
// Order of dispatches (packages/kernels/src/outer.ts): [gap penalty] gap_sumsq_blocks + two segment
// finishes (reduce.wgsl) → per-segment norms; [norm clip] momentum_sumsq_blocks + a fold → ‖m‖;
// then outer_update, the one fused kernel that writes m, a_prev, a and x.
// Elements between segments (layout padding, zero on every worker) are neither read nor written.

override WG: u32 = 256;

struct Outer {
  count: u32,      // table blocks
  seg_count: u32,  // segments S: stats hold [gap norms S | pseudo-gradient norms S | momentum norm]
  avg_off: u32,
  m_off: u32,
  a_off: u32,
  prev_off: u32,
  x_off: u32,      // gap_sumsq_blocks / momentum_sumsq_blocks: offset of their partials output
  stats_off: u32,
  stale: u32,      // 1: g = a_prev − x̄; 0: g = a − x̄
  penalty: u32,    // 0 none, 1 constant (g · inv_lambda), 2 gap
  clip: u32,       // 0 none, 1 value, 2 norm
  inv_lambda: f32,
  kappa: f32,
  epsilon: f32,
  beta: f32,
  alpha: f32,
  phi: f32,
}

@group(0) @binding(0) var<uniform> o: Outer;
@group(0) @binding(1) var<storage, read> table: array<u32>;

// gap_sumsq_blocks
@group(0) @binding(2) var<storage, read> s_avg: array<f32>;
@group(0) @binding(3) var<storage, read> s_anchor: array<f32>;
@group(0) @binding(4) var<storage, read> s_prev: array<f32>;
@group(0) @binding(5) var<storage, read_write> s_partials: array<f32>;

// momentum_sumsq_blocks and outer_update
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> avg: array<f32>;
@group(0) @binding(4) var<storage, read_write> mom: array<f32>;
@group(0) @binding(5) var<storage, read_write> anchor: array<f32>;
@group(0) @binding(6) var<storage, read_write> prev: array<f32>;
@group(0) @binding(7) var<storage, read_write> x: array<f32>;
// momentum_sumsq_blocks only reads m, a, a_prev; it binds them read-only under other names.
@group(0) @binding(4) var<storage, read> r_mom: array<f32>;
@group(0) @binding(5) var<storage, read> r_anchor: array<f32>;
@group(0) @binding(6) var<storage, read> r_prev: array<f32>;
@group(0) @binding(7) var<storage, read_write> m_partials: array<f32>;

var<workgroup> wsum: array<vec2f, WG>;

// Pairwise sum over the workgroup of two values at once; the same value in every invocation.
fn workgroup_sum2(lid: u32, v: vec2f) -> vec2f {
  wsum[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { wsum[lid] += wsum[lid + s]; }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&wsum[0]);
}

// The staleness penalty's factor for segment `seg` (multiplies g).
fn penalty_factor(seg: u32) -> f32 {
  if (o.penalty == 1u) { return o.inv_lambda; }
  if (o.penalty == 2u) {
    let gap = stats[o.stats_off + seg];
    let g_norm = stats[o.stats_off + o.seg_count + seg];
    return 1.0 / (1.0 + o.kappa * gap / (g_norm + o.epsilon));
  }
  return 1.0;
}

// Stage 1 of the gap penalty's norms: per block, Σ (a − x̄)² into partials[b] and Σ g² (before the
// penalty) into partials[count + b]; reduce.wgsl's segment_finish then folds them per segment.
@compute @workgroup_size(WG)
fn gap_sumsq_blocks(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = wid.x + wid.y * nwg.x;
  if (b >= o.count) { return; }
  let start = table[3u * b + 1u];
  let len = table[3u * b + 2u];
  var acc = vec2f(0.0, 0.0);
  for (var i = lid; i < len; i += WG) {
    let j = start + i;
    let xbar = s_avg[o.avg_off + j];
    let a = s_anchor[o.a_off + j];
    var r = a;
    if (o.stale != 0u) { r = s_prev[o.prev_off + j]; }
    let e = a - xbar;
    let g = r - xbar;
    acc = vec2f(fma(e, e, acc.x), fma(g, g, acc.y));
  }
  let total = workgroup_sum2(lid, acc);
  if (lid == 0u) {
    s_partials[o.x_off + b] = total.x;
    s_partials[o.x_off + o.count + b] = total.y;
  }
}

// Stage 1 of the norm clip's ‖m‖: per block, Σ (β m + Penalty(g))² into partials[b]; a fold of the
// partials (reduce.wgsl) finishes the global norm.
@compute @workgroup_size(WG)
fn momentum_sumsq_blocks(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = wid.x + wid.y * nwg.x;
  if (b >= o.count) { return; }
  let f = penalty_factor(table[3u * b]);
  let start = table[3u * b + 1u];
  let len = table[3u * b + 2u];
  var acc = 0.0;
  for (var i = lid; i < len; i += WG) {
    let j = start + i;
    let xbar = avg[o.avg_off + j];
    var r = r_anchor[o.a_off + j];
    if (o.stale != 0u) { r = r_prev[o.prev_off + j]; }
    let m = o.beta * r_mom[o.m_off + j] + (r - xbar) * f;
    acc = fma(m, m, acc);
  }
  let total = workgroup_sum2(lid, vec2f(acc, 0.0));
  if (lid == 0u) { m_partials[o.x_off + b] = total.x; }
}

// The fused outer update (see the file comment), one workgroup per table block.
@compute @workgroup_size(WG)
fn outer_update(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = wid.x + wid.y * nwg.x;
  if (b >= o.count) { return; }
  let f = penalty_factor(table[3u * b]);
  // min(1, φ/‖m‖) without dividing by a zero norm; a NaN norm gives 1 so the NaN stays visible.
  var scale = 1.0;
  if (o.clip == 2u) {
    let norm = stats[o.stats_off + 2u * o.seg_count];
    scale = select(1.0, o.phi / norm, norm > o.phi);
  }
  let start = table[3u * b + 1u];
  let len = table[3u * b + 2u];
  for (var i = lid; i < len; i += WG) {
    let j = start + i;
    let xbar = avg[o.avg_off + j];
    let a = anchor[o.a_off + j];
    var r = a;
    if (o.stale != 0u) { r = prev[o.prev_off + j]; }
    var m = o.beta * mom[o.m_off + j] + (r - xbar) * f;
    if (o.clip == 1u) { m = clamp(m, -o.phi, o.phi); }
    if (o.clip == 2u && scale < 1.0) { m = m * scale; }
    let next = xbar + ((a - xbar) - o.alpha * m);
    mom[o.m_off + j] = m;
    prev[o.prev_off + j] = a;
    anchor[o.a_off + j] = next;
    x[o.x_off + j] = next;
  }
}
