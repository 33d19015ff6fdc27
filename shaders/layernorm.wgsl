// LayerNorm over the rows of a [rows × cols] row-major float32 matrix (GPT's pre-LN blocks):
//   μ = mean(x),  rstd = 1 / sqrt(mean((x − μ)²) + eps),  x̂ = (x − μ)·rstd,  y = x̂·γ + β.
//
// Forward: one workgroup per row (2-D grid for many rows). Two tree reductions, first Σ x then
// Σ (x − μ)²: the two-pass variance never cancels catastrophically (E[x²] − μ² does when |μ| ≫ σ),
// and the row is re-read from cache, so it costs little over a one-pass Welford merge. μ and rstd
// are saved per row (stats[row] and stats[rows + row]) for the backward.
//
// Backward, two dispatches, no float atomics:
//   dx: one workgroup per row, dx = rstd·(gγ − mean(gγ) − x̂·mean(gγ·x̂)) with gγ = g·γ.
//   dγ = Σ_rows g·x̂, dβ = Σ_rows g: column owners. Workgroup (bx, by) owns CPW adjacent columns of
//       a chunk of chunk_rows rows and has RPW row lanes; lane l sums the chunk's rows l, l + RPW, …
//       in order and a fixed tree merges the lanes. With one chunk that is the result; with S > 1
//       (many rows: S workgroups per column block keep a big GPU busy) each chunk writes a partial
//       and layernorm_reduce_partials sums the S partials of each column in order. Every sum has a
//       fixed order, so the result is the same bits on every run.
// ACCUMULATE (backward only) adds into the outputs (dx into a residual stream's gradient, dγ/dβ into
// a flat gradient buffer, as matmul's accumulate does) instead of overwriting them.

override WG: u32 = 256;          // a power of two
override ACCUMULATE: bool = false;

struct Norm {
  rows: u32,
  cols: u32,
  x_off: u32,
  g_off: u32,      // forward: unused; backward: upstream gradient dy
  out_off: u32,    // forward: y; backward dx pass: dx
  w_off: u32,      // γ (parameters) or dγ (gradient pass)
  b_off: u32,      // β (parameters) or dβ (gradient pass)
  stat_off: u32,   // μ at stat_off + row, rstd at stat_off + rows + row
  eps: f32,
  chunk_rows: u32, // dγ/dβ: rows per workgroup (a multiple of RPW)
  chunks: u32,     // dγ/dβ: S, workgroups per column block; partial s of column c at s·cols + c
}

@group(0) @binding(0) var<uniform> p: Norm;

// Forward bindings: 1 x, 2 params (γ, β), 3 y, 4 stats.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;

// Backward bindings: 1 dy, 2 x, 3 stats (read), 4 params (γ) or the gradient buffer (dγ, dβ), 5 dx.
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> xb: array<f32>;
@group(0) @binding(3) var<storage, read> stats_in: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> wgrad: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
// Partials reduction: 1 partials (dγ block then dβ block, S·cols each), 2 the gradient buffer.
@group(0) @binding(2) var<storage, read_write> grad_out: array<f32>;

var<workgroup> wsum: array<vec2f, WG>;

// Σ over the workgroup of each invocation's pair, uniform across the workgroup.
fn tree_sum(lid: u32, v: vec2f) -> vec2f {
  workgroupBarrier(); // a previous call's readers are done with wsum
  wsum[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { wsum[lid] = wsum[lid] + wsum[lid + s]; }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&wsum[0]);
}

fn row_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

@compute @workgroup_size(WG)
fn layernorm_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; } // uniform per workgroup, so the barriers below stay uniform
  let base = p.x_off + row * p.cols;
  let inv_n = 1.0 / f32(p.cols);
  var s = 0.0;
  for (var i = lid; i < p.cols; i += WG) { s += x[base + i]; }
  let mean = tree_sum(lid, vec2f(s, 0.0)).x * inv_n;
  var q = 0.0;
  for (var i = lid; i < p.cols; i += WG) {
    let d = x[base + i] - mean;
    q = fma(d, d, q);
  }
  let rstd = inverseSqrt(tree_sum(lid, vec2f(q, 0.0)).x * inv_n + p.eps);
  let obase = p.out_off + row * p.cols;
  for (var i = lid; i < p.cols; i += WG) {
    y[obase + i] = fma((x[base + i] - mean) * rstd, params[p.w_off + i], params[p.b_off + i]);
  }
  if (lid == 0u) {
    stats[p.stat_off + row] = mean;
    stats[p.stat_off + p.rows + row] = rstd;
  }
}

@compute @workgroup_size(WG)
fn layernorm_backward_dx(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = row_index(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  let mean = stats_in[p.stat_off + row];
  let rstd = stats_in[p.stat_off + p.rows + row];
  var acc = vec2f(0.0);
  for (var i = lid; i < p.cols; i += WG) {
    let gg = dy[p.g_off + base + i] * gamma[p.w_off + i];
    let xh = (xb[p.x_off + base + i] - mean) * rstd;
    acc += vec2f(gg, gg * xh);
  }
  let sums = tree_sum(lid, acc) * (1.0 / f32(p.cols)); // (mean(gγ), mean(gγ·x̂))
  for (var i = lid; i < p.cols; i += WG) {
    let gg = dy[p.g_off + base + i] * gamma[p.w_off + i];
    let xh = (xb[p.x_off + base + i] - mean) * rstd;
    let v = rstd * (gg - sums.x - xh * sums.y);
    if (ACCUMULATE) { dx[p.out_off + base + i] += v; } else { dx[p.out_off + base + i] = v; }
  }
}

// Column-owner reduction for dγ, dβ: CPW columns × RPW row lanes per workgroup (CPW·RPW = 256).
// CPW adjacent columns of one row are adjacent in memory, so each lane's reads are coalesced.
// Writes column c of chunk by at w_off + by·cols + c (dγ) and b_off + by·cols + c (dβ): the gradient
// itself when there is one chunk, else the partials buffer.
const CPW: u32 = 16u;
const RPW: u32 = 16u;
var<workgroup> colsum: array<vec2f, 256>;

@compute @workgroup_size(16, 16)
fn layernorm_backward_params(@builtin(local_invocation_id) l: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = wid.x * CPW + l.x;
  let valid = c < p.cols;
  let start = wid.y * p.chunk_rows;
  let end = min(p.rows, start + p.chunk_rows);
  var acc = vec2f(0.0); // (Σ g·x̂, Σ g)
  if (valid) {
    for (var r = start + l.y; r < end; r += RPW) {
      let mean = stats_in[p.stat_off + r];
      let rstd = stats_in[p.stat_off + p.rows + r];
      let g = dy[p.g_off + r * p.cols + c];
      acc += vec2f(g * ((xb[p.x_off + r * p.cols + c] - mean) * rstd), g);
    }
  }
  let slot = l.y * CPW + l.x;
  colsum[slot] = acc;
  workgroupBarrier();
  for (var s = RPW / 2u; s > 0u; s >>= 1u) {
    if (l.y < s) { colsum[slot] = colsum[slot] + colsum[slot + s * CPW]; }
    workgroupBarrier();
  }
  if (l.y == 0u && valid) {
    let total = colsum[l.x];
    let o = wid.y * p.cols + c;
    if (ACCUMULATE) {
      wgrad[p.w_off + o] += total.x;
      wgrad[p.b_off + o] += total.y;
    } else {
      wgrad[p.w_off + o] = total.x;
      wgrad[p.b_off + o] = total.y;
    }
  }
}

// dγ[c], dβ[c] = Σ_s partials of column c, s in order: one invocation per column.
@compute @workgroup_size(WG)
fn layernorm_reduce_partials(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= p.cols) { return; }
  var acc = vec2f(0.0);
  let beta_block = p.chunks * p.cols;
  for (var s = 0u; s < p.chunks; s++) {
    acc += vec2f(dy[s * p.cols + c], dy[beta_block + s * p.cols + c]);
  }
  if (ACCUMULATE) {
    grad_out[p.w_off + c] += acc.x;
    grad_out[p.b_off + c] += acc.y;
  } else {
    grad_out[p.w_off + c] = acc.x;
    grad_out[p.b_off + c] = acc.y;
  }
}
