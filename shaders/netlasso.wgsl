// Network Lasso node kernels (ALGORITHMS.md §4): the batched x-updates of every node a worker hosts,
// and the per-node residual statistics of its stopping rule. The edge (z) and dual (u) updates are in
// admm.wgsl.
//
// Layout (row-major, d floats per row):
//   X [N × d]          node variables x_i (read_write: updated in place, warm start for Newton)
//   Z, U [C × d]       one row per directed edge copy held by this worker (z_ij, u_ij)
//   table u32          start: [N + 1] offsets into list; list: [C] copy indices of node i, in the order
//                      of i's neighbours' global ids (so every partition sums in the same order);
//                      samples: [N + 1] offsets of node i's training samples (Newton kernels)
//   data f32           squared loss: anchors a_i [N × d];
//                      ridge: per node [Q (d × d, columns = eigenvectors) | eig (d) | rhs0 (d)], the
//                      cached factorization 2AᵀA + 2μI = Q diag(eig) Qᵀ and rhs0 = 2Aᵀb;
//                      Newton losses: features [S × feat_dim] at data_off and labels [S] at labels_off;
//                      residuals: Z_old [C × d].
// Every kernel is one invocation per node that loops over the node's copies and samples: d is small
// (≤ MAX_D) in Network Lasso, and one dispatch covers all nodes of the worker.

override WG: u32 = 64;
// Newton losses: 0 logistic, 1 squared hinge, 2 smoothed (Huberized) hinge, 3 primal linear
// one-class SVM with smoothed hinge (x = (w, r), d = feat_dim + 1).
override LOSS: u32 = 0u;

const MAX_D: u32 = 32u;
const MAX_TRI: u32 = 528u; // MAX_D (MAX_D + 1) / 2

struct NodeParams {
  nodes: u32,
  d: u32,
  x_off: u32,
  z_off: u32,
  u_off: u32,
  start_off: u32,
  list_off: u32,
  data_off: u32,      // anchors / ridge factors / features / Z_old
  labels_off: u32,    // Newton: labels (in the data buffer)
  samples_off: u32,   // Newton: sample offsets (in the table buffer)
  feat_dim: u32,      // Newton: features per sample
  max_steps: u32,     // Newton steps per x-update (1 = the warm-started single step)
  stats_off: u32,     // residuals: output offset
  rho: f32,
  mu: f32,            // ℓ2 weight (μ/2)‖x‖² of the margin losses
  scale: f32,         // loss multiplier C; one-class SVM: 1/ν (divided by n_i in the kernel)
  smoothing: f32,     // h of the smoothed hinges
  tol: f32,           // Newton: stop when ‖δ‖ ≤ tol (1 + ‖x‖); 0 = always max_steps
}

@group(0) @binding(0) var<uniform> p: NodeParams;
@group(0) @binding(1) var<storage, read> zs: array<f32>;
@group(0) @binding(2) var<storage, read> us: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<u32>;
@group(0) @binding(4) var<storage, read> data: array<f32>;
@group(0) @binding(5) var<storage, read_write> xs: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Σ_j (z_ij − u_ij) of node i, component k, in the node's copy-list order.
fn sum_z_minus_u(c0: u32, c1: u32, k: u32) -> f32 {
  var s = 0.0;
  for (var q = c0; q < c1; q++) {
    let row = table[p.list_off + q] * p.d + k;
    s += zs[p.z_off + row] - us[p.u_off + row];
  }
  return s;
}

// f_i = ½‖x − a_i‖²: x = (a_i + ρ Σ_j (z_ij − u_ij)) / (1 + ρ deg_i).
@compute @workgroup_size(WG)
fn x_update_squared(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= p.nodes) { return; }
  let d = p.d;
  let c0 = table[p.start_off + i];
  let c1 = table[p.start_off + i + 1u];
  let denom = 1.0 + p.rho * f32(c1 - c0);
  for (var k = 0u; k < d; k++) {
    xs[p.x_off + i * d + k] = (data[p.data_off + i * d + k] + p.rho * sum_z_minus_u(c0, c1, k)) / denom;
  }
}

// f_i = ‖A_i x − b_i‖² + μ‖x‖²: (2AᵀA + 2μI + ρ deg_i I) x = 2Aᵀb + ρ Σ_j (z_ij − u_ij), solved with
// the cached eigendecomposition, which stays valid for every ρ (λ path, residual balancing).
@compute @workgroup_size(WG)
fn x_update_ridge(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= p.nodes) { return; }
  let d = p.d;
  let c0 = table[p.start_off + i];
  let c1 = table[p.start_off + i + 1u];
  let rd = p.rho * f32(c1 - c0);
  let base = p.data_off + i * (d * d + 2u * d);
  var rhs: array<f32, MAX_D>;
  var t: array<f32, MAX_D>;
  for (var k = 0u; k < d; k++) {
    rhs[k] = data[base + d * d + d + k] + p.rho * sum_z_minus_u(c0, c1, k);
  }
  for (var c = 0u; c < d; c++) {
    var s = 0.0;
    for (var r = 0u; r < d; r++) { s += data[base + r * d + c] * rhs[r]; }
    t[c] = s / (data[base + d * d + c] + rd);
  }
  for (var r = 0u; r < d; r++) {
    var s = 0.0;
    for (var c = 0u; c < d; c++) { s += data[base + r * d + c] * t[c]; }
    xs[p.x_off + i * d + r] = s;
  }
}

// The loss's per-sample direction ã_s (length d) so that the sample term is ℓ(ã_sᵀx):
// margin losses ã = y a (y = ±1, so ã ãᵀ = a aᵀ); one-class SVM ã = (−φ, 1) and t = r − wᵀφ.
fn sample_dir(s: u32, k: u32) -> f32 {
  if (LOSS == 3u) {
    if (k + 1u == p.d) { return 1.0; }
    return -data[p.data_off + s * p.feat_dim + k];
  }
  return data[p.labels_off + s] * data[p.data_off + s * p.feat_dim + k];
}

// (ℓ'(m), ℓ''(m)) of the sample loss at m = ã_sᵀx.
fn loss_derivatives(m: f32) -> vec2f {
  let h = p.smoothing;
  if (LOSS == 0u) {
    // log(1 + e^(−m)): ℓ' = −σ(−m), ℓ'' = σ(m)σ(−m), with e = e^(−|m|) ≤ 1 (no overflow).
    let e = exp(-abs(m));
    let sig_neg = select(1.0 / (1.0 + e), e / (1.0 + e), m >= 0.0);
    return vec2f(-sig_neg, e / ((1.0 + e) * (1.0 + e)));
  }
  if (LOSS == 1u) {
    // max(0, 1 − m)²
    if (m >= 1.0) { return vec2f(0.0, 0.0); }
    return vec2f(-2.0 * (1.0 - m), 2.0);
  }
  if (LOSS == 2u) {
    // Huberized hinge of t = 1 − m: 0 (t ≤ 0), t²/(2h) (0 < t < h), t − h/2 (t ≥ h).
    let t = 1.0 - m;
    if (t <= 0.0) { return vec2f(0.0, 0.0); }
    if (t < h) { return vec2f(-t / h, 1.0 / h); }
    return vec2f(-1.0, 0.0);
  }
  // One-class SVM: the same smoothed hinge of t = m = r − wᵀφ.
  if (m <= 0.0) { return vec2f(0.0, 0.0); }
  if (m < h) { return vec2f(m / h, 1.0 / h); }
  return vec2f(1.0, 0.0);
}

// ℓ(m) of the sample loss (for the line search of exact solves).
fn loss_value(m: f32) -> f32 {
  let h = p.smoothing;
  if (LOSS == 0u) { return max(-m, 0.0) + log(1.0 + exp(-abs(m))); }
  if (LOSS == 1u) { return select((1.0 - m) * (1.0 - m), 0.0, m >= 1.0); }
  var t = m;
  if (LOSS == 2u) { t = 1.0 - m; }
  if (t <= 0.0) { return 0.0; }
  if (t < h) { return t * t / (2.0 * h); }
  return t - h / 2.0;
}

// f_i(x) + (ρ/2) Σ_j ‖x − z_ij + u_ij‖² up to a constant: f_i(x) + (ρ deg/2)‖x‖² − ρ xᵀ Σ_j (z_ij − u_ij).
fn prox_value(x: ptr<function, array<f32, MAX_D>>, sv: ptr<function, array<f32, MAX_D>>, s0: u32, s1: u32, coef: f32, rd: f32) -> f32 {
  let d = p.d;
  var v = 0.0;
  for (var k = 0u; k < d; k++) {
    v += 0.5 * rd * (*x)[k] * (*x)[k] - p.rho * (*x)[k] * (*sv)[k];
    if (LOSS == 3u) {
      if (k + 1u < d) { v += 0.5 * (*x)[k] * (*x)[k]; } else { v -= (*x)[k]; }
    } else {
      v += 0.5 * p.mu * (*x)[k] * (*x)[k];
    }
  }
  for (var s = s0; s < s1; s++) {
    var m = 0.0;
    for (var k = 0u; k < d; k++) { m += sample_dir(s, k) * (*x)[k]; }
    v += coef * loss_value(m);
  }
  return v;
}

fn tri(r: u32, c: u32) -> u32 {
  return r * (r + 1u) / 2u + c;
}

// Newton step(s) on f_i(x) + (ρ/2) Σ_j ‖x − z_ij + u_ij‖², warm-started from the current x_i:
// g = ∇f_i(x) + ρ(deg_i x − Σ_j (z_ij − u_ij)), H = ∇²f_i(x) + ρ deg_i I (positive definite),
// x ← x − H⁻¹g by a Cholesky solve in registers (d ≤ MAX_D).
// f_i: margin losses (μ/2)‖x‖² + C Σ_s ℓ(y_s a_sᵀx); one-class SVM ½‖w‖² − r + (1/(ν n_i)) Σ_s H_h(r − wᵀφ_s).
@compute @workgroup_size(WG)
fn x_update_newton(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= p.nodes) { return; }
  let d = p.d;
  let c0 = table[p.start_off + i];
  let c1 = table[p.start_off + i + 1u];
  let s0 = table[p.samples_off + i];
  let s1 = table[p.samples_off + i + 1u];
  let rd = p.rho * f32(c1 - c0);
  var coef = p.scale;
  if (LOSS == 3u) { coef = p.scale / max(f32(s1 - s0), 1.0); }
  // An isolated node has no ρ term: its update is min f_i alone, where ∇²f_i can be singular (the
  // one-class SVM's r, a margin loss with μ = 0, no sample on a curved piece). It is solved to its own
  // optimum by Levenberg–Marquardt damped Newton with backtracking: λ halves after a full step and
  // grows after a cut one, so flat directions get gradient-like steps that lengthen geometrically.
  let isolated = c1 == c0;
  let steps = select(p.max_steps, max(p.max_steps, 200u), isolated);
  let tol = select(p.tol, max(p.tol, 1e-7), isolated);
  var lm = select(0.0, 1.0, isolated);
  var sv: array<f32, MAX_D>;
  var xv: array<f32, MAX_D>;
  var g: array<f32, MAX_D>;
  var hm: array<f32, MAX_TRI>;
  var hx: array<f32, MAX_D>;
  for (var k = 0u; k < d; k++) {
    sv[k] = sum_z_minus_u(c0, c1, k);
    xv[k] = xs[p.x_off + i * d + k];
  }
  for (var it = 0u; it < steps; it++) {
    for (var r = 0u; r < d; r++) {
      g[r] = rd * xv[r] - p.rho * sv[r];
      for (var c = 0u; c < r; c++) { hm[tri(r, c)] = 0.0; }
      hm[tri(r, r)] = rd + lm;
    }
    if (LOSS == 3u) {
      for (var k = 0u; k + 1u < d; k++) {
        g[k] += xv[k];
        hm[tri(k, k)] += 1.0;
      }
      g[d - 1u] -= 1.0;
    } else {
      for (var k = 0u; k < d; k++) {
        g[k] += p.mu * xv[k];
        hm[tri(k, k)] += p.mu;
      }
    }
    for (var s = s0; s < s1; s++) {
      var m = 0.0;
      for (var k = 0u; k < d; k++) { m += sample_dir(s, k) * xv[k]; }
      let l = coef * loss_derivatives(m);
      if (l.x == 0.0 && l.y == 0.0) { continue; }
      for (var r = 0u; r < d; r++) {
        let ar = sample_dir(s, r);
        g[r] += l.x * ar;
        if (l.y != 0.0) {
          let w = l.y * ar;
          for (var c = 0u; c <= r; c++) { hm[tri(r, c)] += w * sample_dir(s, c); }
        }
      }
    }
    // Cholesky H = L Lᵀ in place (lower triangle), then L y = g, Lᵀ δ = y (δ into g).
    for (var r = 0u; r < d; r++) {
      for (var c = 0u; c <= r; c++) {
        var v = hm[tri(r, c)];
        for (var k = 0u; k < c; k++) { v -= hm[tri(r, k)] * hm[tri(c, k)]; }
        if (c == r) {
          hm[tri(r, r)] = sqrt(max(v, 1e-30));
        } else {
          hm[tri(r, c)] = v / hm[tri(c, c)];
        }
      }
    }
    for (var r = 0u; r < d; r++) {
      var v = g[r];
      for (var k = 0u; k < r; k++) { v -= hm[tri(r, k)] * g[k]; }
      g[r] = v / hm[tri(r, r)];
    }
    var step_sq = 0.0;
    for (var rr = 0u; rr < d; rr++) {
      let r = d - 1u - rr;
      var v = g[r];
      for (var k = r + 1u; k < d; k++) { v -= hm[tri(k, r)] * g[k]; }
      g[r] = v / hm[tri(r, r)];
      step_sq += g[r] * g[r];
    }
    // Exact solves (several steps) backtrack: pure Newton can cycle on the piecewise-quadratic hinges.
    // The slack accepts float32 rounding near the optimum. The single warm-started step is plain Newton.
    var t = 1.0;
    if (steps > 1u) {
      let f0 = prox_value(&xv, &sv, s0, s1, coef, rd);
      for (var ls = 0u; ls < 40u; ls++) {
        for (var k = 0u; k < d; k++) { hx[k] = xv[k] - t * g[k]; }
        if (prox_value(&hx, &sv, s0, s1, coef, rd) <= f0 + 1e-6 * abs(f0)) { break; }
        t = 0.5 * t;
      }
    }
    if (isolated) { lm = select(min(lm * 4.0, 1e6), max(lm * 0.5, 1e-6), t == 1.0); }
    var x_sq = 0.0;
    for (var k = 0u; k < d; k++) {
      xv[k] -= t * g[k];
      x_sq += xv[k] * xv[k];
    }
    if (tol > 0.0 && select(1.0, t, isolated) * sqrt(step_sq) <= tol * (1.0 + sqrt(x_sq))) { break; }
  }
  for (var k = 0u; k < d; k++) { xs[p.x_off + i * d + k] = xv[k]; }
}

// Per-node residual statistics, 5 floats per node at stats_off + 5i:
//   [Σ_j ‖x_i − z_ij‖², ‖Σ_j (z_ij − z_ij_old)‖², ‖x_i‖², Σ_j ‖z_ij‖², ‖Σ_j u_ij‖²]
// (primal residual, dual residual / ρ², and the norms of the thresholds; the host multiplies by ρ).
// Bindings: 1 Z, 2 U, 3 table, 4 Z_old (data_off), 5 X (read only here), 6 stats.
@compute @workgroup_size(WG)
fn node_residuals(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= p.nodes) { return; }
  let d = p.d;
  let c0 = table[p.start_off + i];
  let c1 = table[p.start_off + i + 1u];
  var r2 = 0.0;
  var dz2 = 0.0;
  var x2 = 0.0;
  var z2 = 0.0;
  var su2 = 0.0;
  for (var k = 0u; k < d; k++) {
    let xk = xs[p.x_off + i * d + k];
    x2 += xk * xk;
    var dz = 0.0;
    var su = 0.0;
    for (var q = c0; q < c1; q++) {
      let row = table[p.list_off + q] * d + k;
      let zk = zs[p.z_off + row];
      r2 += (xk - zk) * (xk - zk);
      z2 += zk * zk;
      dz += zk - data[p.data_off + row];
      su += us[p.u_off + row];
    }
    dz2 += dz * dz;
    su2 += su * su;
  }
  let o = p.stats_off + 5u * i;
  stats[o] = r2;
  stats[o + 1u] = dz2;
  stats[o + 2u] = x2;
  stats[o + 3u] = z2;
  stats[o + 4u] = su2;
}
