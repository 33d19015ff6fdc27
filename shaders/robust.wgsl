// Byzantine-robust mixing over the own vector x0 and K received vectors r_1..r_K (packages/kernels/
// src/robust.ts states each rule's formula). Vectors are laid out as in mix.wgsl: x0 at x_off, r_j at
// r_off + (j − 1)·r_stride, j = 1..K; "vector j" below means x0 for j = 0.
//
// Four entry points serve all rules:
//   robust_dist_partial  grid (blocks, K + 1): per-block Σ (v_j − c)² into scratch partials.
//   robust_finalize      one workgroup: partials → squared distances, then the rule's K + 1
//                        coefficients (NNA selection, Weiszfeld weights, clipping scales).
//   robust_combine       one thread per element: Σ_j c_j·v_j, or x0 + Σ_j c_j·(r_j − x0) (clipping).
//   robust_sorted        one thread per element: sort the K + 1 values, average ranks [lo, hi)
//                        (trimmed mean; the median is lo = ⌊K/2⌋, hi = K + 1 − lo).
// Every sum runs in a fixed order (no float atomics), so equal inputs give equal bits.
//
// NaN/Inf: WGSL lets compilers assume floats are finite, so `v != v` may fold to false. Every
// finiteness test here looks at the bits instead.

const WG: u32 = 256u;
const ITEMS: u32 = 16u;              // elements per thread per block in robust_dist_partial
const BLOCK: u32 = WG * ITEMS;       // elements per block (robust.ts: DIST_BLOCK)
const MAX_SORTED: u32 = 32u;         // K + 1 ≤ 32 for robust_sorted (robust.ts: MAX_SORTED_INPUTS)

const RULE_NNA: u32 = 0u;
const RULE_GEOMED: u32 = 1u;
const RULE_CLIP: u32 = 2u;

struct Dist {
  n: u32,
  k: u32,
  c_off: u32,     // the centre (x0 or the current Weiszfeld iterate)
  x_off: u32,
  r_off: u32,
  r_stride: u32,
  p_off: u32,     // partials in scratch: vector j, block b at p_off + j·nb + b
  nb: u32,
}

struct Fin {
  k: u32,
  nb: u32,
  s_off: u32,     // scratch: coef[K+1] at s_off, dist²[K+1] after it, partials after that
  w_off: u32,     // clipping weights [w_self, w_1..w_K] (w_self unused)
  rule: u32,
  keep: u32,      // NNA: how many nearest vectors to average (n − f)
  inv_keep: f32,  // NNA: float32(1 / keep), rounded on the host (WGSL division is 2.5 ulp)
  nu: f32,        // Weiszfeld smoothing
  tau: f32,       // clipping radius (finite; tau_inf marks τ = ∞)
  tau_inf: u32,
}

struct Comb {
  n: u32,
  k: u32,
  x_off: u32,
  r_off: u32,
  r_stride: u32,
  coef_off: u32,
  out_off: u32,
  centred: u32,   // 1: x0 + Σ_{j≥1} c_j·(r_j − x0); 0: Σ_{j≥0} c_j·v_j
}

struct Sorted {
  n: u32,
  k: u32,
  x_off: u32,
  r_off: u32,
  r_stride: u32,
  out_off: u32,
  lo: u32,
  hi: u32,
  inv_count: f32, // float32(1 / (hi − lo))
}

@group(0) @binding(0) var<uniform> dp: Dist;
@group(0) @binding(0) var<uniform> fp: Fin;
@group(0) @binding(0) var<uniform> cp: Comb;
@group(0) @binding(0) var<uniform> sp: Sorted;

// robust_dist_partial: 1 centre, 2 x0, 3 received (read), 4 scratch (read_write).
// robust_finalize:     1 weights (read), 2 scratch (read_write).
// robust_combine:      1 x0, 2 received, 3 scratch (read), 4 out (read_write).
// robust_sorted:       1 x0, 2 received (read), 3 out (read_write).
@group(0) @binding(1) var<storage, read> centre: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(1) var<storage, read> x_in: array<f32>;
@group(0) @binding(2) var<storage, read> x_dist: array<f32>;
@group(0) @binding(2) var<storage, read_write> fin_scratch: array<f32>;
@group(0) @binding(2) var<storage, read> received: array<f32>;
@group(0) @binding(3) var<storage, read> r_dist: array<f32>;
@group(0) @binding(3) var<storage, read> coefs: array<f32>;
@group(0) @binding(3) var<storage, read_write> sorted_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> dist_scratch: array<f32>;
@group(0) @binding(4) var<storage, read_write> mixed: array<f32>;

var<workgroup> red: array<f32, WG>;
var<workgroup> dist2: array<f32, WG>;  // K + 1 ≤ 256 for the distance rules
var<workgroup> total: f32;

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn is_finite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) < 0x7f800000u;
}

fn is_zero(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) == 0u;
}

// Tree sum of red[0..WG) into red[0]; every thread of the workgroup must call it.
fn tree_reduce(t: u32) {
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (t < h) { red[t] += red[t + h]; }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn robust_dist_partial(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let b = wg.x;
  let j = wg.y;
  var s = 0.0;
  for (var q = 0u; q < ITEMS; q++) {
    let i = b * BLOCK + q * WG + t;  // coalesced: consecutive threads, consecutive elements
    if (i < dp.n) {
      var v: f32;
      if (j == 0u) { v = x_dist[dp.x_off + i]; } else { v = r_dist[dp.r_off + (j - 1u) * dp.r_stride + i]; }
      let d = v - centre[dp.c_off + i];
      s = fma(d, d, s);
    }
  }
  red[t] = s;
  tree_reduce(t);
  if (t == 0u) { dist_scratch[dp.p_off + j * dp.nb + b] = red[0]; }
}

// NNA order key of a squared distance (≥ 0 or non-finite): non-finite sorts after every finite
// distance; non-negative floats order like their bits, so ties and NaN need no float compares.
fn nna_key(d: f32) -> u32 {
  return select(0x7f800000u, bitcast<u32>(d), is_finite(d));
}

@compute @workgroup_size(WG)
fn robust_finalize(@builtin(local_invocation_index) t: u32) {
  let nv = fp.k + 1u;
  let p_off = fp.s_off + 2u * nv;
  // Squared distances: each vector's partials summed by a strided loop, then a tree.
  for (var j = 0u; j < nv; j++) {
    var s = 0.0;
    for (var b = t; b < fp.nb; b += WG) { s += fin_scratch[p_off + j * fp.nb + b]; }
    red[t] = s;
    tree_reduce(t);
    if (t == 0u) { dist2[j] = red[0]; }
    workgroupBarrier();
  }
  var c = 0.0;
  if (t < nv) {
    let d2 = dist2[t];
    fin_scratch[fp.s_off + nv + t] = d2;
    if (fp.rule == RULE_NNA) {
      // rank = #{i : (key_i, i) < (key_t, t)}: the keep smallest by (distance, index) are selected.
      let key = nna_key(d2);
      var rank = 0u;
      for (var i = 0u; i < nv; i++) {
        let ki = nna_key(dist2[i]);
        if (ki < key || (ki == key && i < t)) { rank++; }
      }
      c = select(0.0, fp.inv_keep, rank < fp.keep);
    } else if (fp.rule == RULE_GEOMED) {
      let d = sqrt(d2);
      c = select(0.0, 1.0 / max(fp.nu, d), is_finite(d));
    } else if (t > 0u) {
      // Clipping: c_j = w_j · min(1, τ/‖r_j − x0‖); a non-finite norm drops the neighbour.
      let d = sqrt(d2);
      var scale = 1.0;
      if (fp.tau_inf == 0u) {
        if (!is_finite(d)) { scale = 0.0; } else if (d > fp.tau) { scale = fp.tau / d; }
      }
      c = weights[fp.w_off + t] * scale;
    }
  }
  if (fp.rule == RULE_GEOMED) {
    // Normalise the Weiszfeld weights by their sum, added in index order by one thread.
    red[t] = c;
    workgroupBarrier();
    if (t == 0u) {
      var s = 0.0;
      for (var i = 0u; i < nv; i++) { s += red[i]; }
      total = s;
    }
    workgroupBarrier();
    let sum = total;
    if (is_zero(sum)) {
      c = select(0.0, 1.0, t == 0u);  // every distance non-finite: keep x0
    } else {
      c = c / sum;
    }
  }
  if (t < nv) { fin_scratch[fp.s_off + t] = c; }
}

@compute @workgroup_size(WG)
fn robust_combine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= cp.n) { return; }
  let x0 = x_in[cp.x_off + i];
  var row = cp.r_off + i;
  var acc = 0.0;
  if (cp.centred == 1u) {
    acc = x0;
    for (var j = 1u; j <= cp.k; j++) {
      let c = coefs[cp.coef_off + j];
      // Skipping zero coefficients (not multiplying by 0) keeps a dropped NaN/Inf vector out.
      if (!is_zero(c)) { acc = fma(c, received[row] - x0, acc); }
      row += cp.r_stride;
    }
  } else {
    let c0 = coefs[cp.coef_off];
    if (!is_zero(c0)) { acc = c0 * x0; }
    for (var j = 1u; j <= cp.k; j++) {
      let c = coefs[cp.coef_off + j];
      if (!is_zero(c)) { acc = fma(c, received[row], acc); }
      row += cp.r_stride;
    }
  }
  mixed[cp.out_off + i] = acc;
}

// A total order on float32 as u32 keys: −NaN < −∞ < … < −0 < +0 < … < +∞ < NaN, with every NaN
// mapped to the largest key, so NaN sorts as larger than +∞.
fn order_key(v: f32) -> u32 {
  var b = bitcast<u32>(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) { b = 0x7fffffffu; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn from_key(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

@compute @workgroup_size(WG)
fn robust_sorted(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= sp.n) { return; }
  let nv = sp.k + 1u;
  var v: array<u32, MAX_SORTED>;
  v[0] = order_key(x_in[sp.x_off + i]);
  var row = sp.r_off + i;
  for (var j = 1u; j < nv; j++) {
    v[j] = order_key(received[row]);
    row += sp.r_stride;
  }
  // Insertion sort by key: the kept values are then summed in sorted order, so the result does not
  // depend on the order the vectors arrived in (same bits for any permutation).
  for (var a = 1u; a < nv; a++) {
    let key = v[a];
    var b = a;
    loop {
      if (b == 0u) { break; }
      if (v[b - 1u] <= key) { break; }
      v[b] = v[b - 1u];
      b--;
    }
    v[b] = key;
  }
  var acc = 0.0;
  for (var s = sp.lo; s < sp.hi; s++) { acc += from_key(v[s]); }
  sorted_out[sp.out_off + i] = acc * sp.inv_count;
}
