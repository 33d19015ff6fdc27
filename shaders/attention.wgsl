// Fused causal multi-head self-attention, forward and backward (FlashAttention-2 style).
//
// Layout (float32, row-major, every operand addressed by an element offset):
//   qkv  [B·T, 3C]  token row b·T + t holds q | k | v, each C = H·D wide; head h is the D columns
//                   h·D .. h·D + D − 1 inside each of the three (what a GPT's c_attn matmul writes).
//   y    [B·T, C]   heads concatenated, ready for the output projection.
//   lse  [B·H·T]    per-row logsumexp of the scaled, masked scores, index (b·H + h)·T + t.
//   dqkv [B·T, 3C]  the gradient, laid out as qkv.
//   delta [B·H·T]   rowsum(dy ∘ y), written by the dq pass and read by the dk/dv pass.
// S = scale·q·kᵀ with scale = 1/√D (host), key j > query i masked out, P = softmax(S), y = P·v.
//
// Grid of every entry point: (⌈T/BR⌉, H, B), one workgroup per (block of BR rows, head, batch item),
// so one dispatch covers all heads. WG = BR·TPR threads: TPR threads share an owned row and each
// keeps the D/TPR output columns part, part + TPR, ... in registers (strided so neighbouring
// threads touch neighbouring addresses). The other operand is streamed in tiles of BN rows staged in
// workgroup memory; each thread computes BN/TPR of the BR×BN scores as full D-long dot products.
// No T×T matrix is ever in global memory, and no float atomics are used: each output element has one
// owner that sums its terms in a fixed order, so results are deterministic bit for bit.
//
//   forward:  owns BR query rows; online softmax over key tiles (running max m, sum l, the
//             accumulator rescaled by exp(m_old − m_new)); writes y and L = m + log l.
//   dq pass:  owns BR query rows; Δ_i = dy_i·y_i, then over key tiles recomputes P = exp(S − L),
//             dS = P ∘ (dy·vᵀ − Δ) and accumulates dq = scale·dS·k. Writes Δ for the next pass.
//   dkdv pass: owns BR key rows; over query tiles i ≥ the block's first key recomputes P and dS and
//             accumulates dv = Pᵀ·dy and dk = scale·dSᵀ·q.
// Masked scores use a large finite negative (WGSL has no infinity literal): exp of it is 0.

override D: u32 = 32u;   // head size, a multiple of TPR with D/TPR ≤ MAX_DC
override BR: u32 = 16u;  // owned rows per workgroup
override BN: u32 = 16u;  // rows per streamed tile, a multiple of TPR
override TPR: u32 = 4u;  // threads per owned row
override WG: u32 = BR * TPR;
override DC: u32 = D / TPR;   // output columns per thread
override NPT: u32 = BN / TPR; // scores per thread per tile
// Row stride of the staged tiles: one float of padding makes it odd, so the threads of a warp that
// read the same column of different rows (the score dot products) hit different banks.
override DP: u32 = D + 1u;

const MAX_DC: u32 = 16u;
const NEG: f32 = -3.0e38;

struct Params {
  t: u32,         // sequence length T
  heads: u32,     // H
  c: u32,         // model width C = H·D
  qkv_off: u32,
  y_off: u32,
  lse_off: u32,
  dy_off: u32,
  delta_off: u32,
  dqkv_off: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

// forward: qkv, y, lse
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> y_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse_out: array<f32>;
// dq pass: qkv, y, lse, dy, delta (written), dqkv
@group(0) @binding(2) var<storage, read> y_in: array<f32>;
@group(0) @binding(3) var<storage, read> lse_in: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> delta_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> dqkv: array<f32>;
// dkdv pass: qkv, lse, dy, delta (read), dqkv — the dq pass's bindings 2..5 shifted down by one.
@group(0) @binding(2) var<storage, read> lse_kv: array<f32>;
@group(0) @binding(3) var<storage, read> dy_kv: array<f32>;
@group(0) @binding(4) var<storage, read> delta_kv: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqkv_kv: array<f32>;

// Tiles: `own_*` hold the workgroup's BR rows, `str_*` the streamed BN rows, `tile_*` BR×BN scores.
// forward: own_a = q, str_a = k, str_b = v, tile_a = S. dq: own_a = q, own_b = dy, str_a = k,
// str_b = v, tile_a = dS. dkdv: own_a = k, own_b = v, str_a = q, str_b = dy, tile_a = P, tile_b = dS.
var<workgroup> own_a: array<f32, BR * DP>;
var<workgroup> own_b: array<f32, BR * DP>;
var<workgroup> str_a: array<f32, BN * DP>;
var<workgroup> str_b: array<f32, BN * DP>;
var<workgroup> tile_a: array<f32, BR * BN>;
var<workgroup> tile_b: array<f32, BR * BN>;
var<workgroup> row_stats: array<f32, 2 * BN>; // dkdv: L and Δ of the streamed query rows

// Element (token t of batch item b, part which ∈ {0: q, 1: k, 2: v}, head h, column c) of qkv.
fn qkv_index(b: u32, t: u32, which: u32, h: u32, col: u32) -> u32 {
  return (b * p.t + t) * 3u * p.c + which * p.c + h * D + col;
}

// Element (b, t, h, c) of a [B·T, C] operand (y, dy).
fn row_index(b: u32, t: u32, h: u32, col: u32) -> u32 {
  return (b * p.t + t) * p.c + h * D + col;
}

fn stat_index(b: u32, h: u32, t: u32) -> u32 {
  return (b * p.heads + h) * p.t + t;
}

// Dot product of row r of `own_a` with row n of `str_a` (and likewise own_b · str_b).
fn dot_aa(r: u32, n: u32) -> f32 {
  var s = 0.0;
  for (var c = 0u; c < D; c++) { s = fma(own_a[r * DP + c], str_a[n * DP + c], s); }
  return s;
}

fn dot_bb(r: u32, n: u32) -> f32 {
  var s = 0.0;
  for (var c = 0u; c < D; c++) { s = fma(own_b[r * DP + c], str_b[n * DP + c], s); }
  return s;
}

@compute @workgroup_size(WG)
fn attention_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let i0 = wid.x * BR;
  let h = wid.y;
  let b = wid.z;
  let r = lid / TPR;
  let part = lid % TPR;
  let i = i0 + r;
  for (var e = lid; e < BR * D; e += WG) {
    let t = i0 + e / D;
    own_a[e / D * DP + e % D] = select(0.0, qkv[p.qkv_off + qkv_index(b, min(t, p.t - 1u), 0u, h, e % D)], t < p.t);
  }
  var m = NEG;
  var l = 0.0;
  var acc: array<f32, MAX_DC>;
  let last = min(i0 + BR, p.t) - 1u; // the last query row of the block: keys beyond it are masked
  for (var j0 = 0u; j0 <= last; j0 += BN) {
    workgroupBarrier(); // the previous tile is no longer read
    for (var e = lid; e < BN * D; e += WG) {
      let t = min(j0 + e / D, p.t - 1u);
      str_a[e / D * DP + e % D] = qkv[p.qkv_off + qkv_index(b, t, 1u, h, e % D)];
      str_b[e / D * DP + e % D] = qkv[p.qkv_off + qkv_index(b, t, 2u, h, e % D)];
    }
    workgroupBarrier();
    for (var n = 0u; n < NPT; n++) {
      let jj = part + TPR * n;
      tile_a[r * BN + jj] = select(NEG, dot_aa(r, jj) * p.scale, j0 + jj <= i);
    }
    workgroupBarrier();
    // Every thread of the row repeats the row's max and exps (BN each) rather than share them: it
    // saves a barrier and a tile, and costs BN exps against (D + D/TPR)·BN/TPR·TPR FMAs.
    var m_new = m;
    for (var jj = 0u; jj < BN; jj++) { m_new = max(m_new, tile_a[r * BN + jj]); }
    let rescale = exp(m - m_new);
    l *= rescale;
    for (var c = 0u; c < DC; c++) { acc[c] *= rescale; }
    for (var jj = 0u; jj < BN; jj++) {
      let pj = exp(tile_a[r * BN + jj] - m_new);
      l += pj;
      for (var c = 0u; c < DC; c++) { acc[c] = fma(pj, str_b[jj * DP + part + TPR * c], acc[c]); }
    }
    m = m_new;
  }
  if (i < p.t) {
    let inv_l = 1.0 / l;
    for (var c = 0u; c < DC; c++) { y_out[p.y_off + row_index(b, i, h, part + TPR * c)] = acc[c] * inv_l; }
    if (part == 0u) { lse_out[p.lse_off + stat_index(b, h, i)] = m + log(l); }
  }
}

@compute @workgroup_size(WG)
fn attention_backward_dq(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let i0 = wid.x * BR;
  let h = wid.y;
  let b = wid.z;
  let r = lid / TPR;
  let part = lid % TPR;
  let i = i0 + r;
  let iv = min(i, p.t - 1u); // rows past T compute on a clamped copy and write nothing
  for (var e = lid; e < BR * D; e += WG) {
    let t = i0 + e / D;
    let tc = min(t, p.t - 1u);
    own_a[e / D * DP + e % D] = select(0.0, qkv[p.qkv_off + qkv_index(b, tc, 0u, h, e % D)], t < p.t);
    own_b[e / D * DP + e % D] = select(0.0, dy[p.dy_off + row_index(b, tc, h, e % D)], t < p.t);
  }
  // Δ_i = dy_i · y_i: each thread sums its columns, then the row's TPR partials are added in order.
  var part_sum = 0.0;
  for (var c = 0u; c < DC; c++) {
    let col = part + TPR * c;
    part_sum = fma(dy[p.dy_off + row_index(b, iv, h, col)], y_in[p.y_off + row_index(b, iv, h, col)], part_sum);
  }
  tile_a[r * BN + part] = part_sum;
  workgroupBarrier();
  var delta = 0.0;
  for (var k = 0u; k < TPR; k++) { delta += tile_a[r * BN + k]; }
  let lse = lse_in[p.lse_off + stat_index(b, h, iv)];
  if (i < p.t && part == 0u) { delta_out[p.delta_off + stat_index(b, h, i)] = delta; }
  var acc: array<f32, MAX_DC>;
  let last = min(i0 + BR, p.t) - 1u;
  for (var j0 = 0u; j0 <= last; j0 += BN) {
    workgroupBarrier();
    for (var e = lid; e < BN * D; e += WG) {
      let t = min(j0 + e / D, p.t - 1u);
      str_a[e / D * DP + e % D] = qkv[p.qkv_off + qkv_index(b, t, 1u, h, e % D)];
      str_b[e / D * DP + e % D] = qkv[p.qkv_off + qkv_index(b, t, 2u, h, e % D)];
    }
    workgroupBarrier();
    for (var n = 0u; n < NPT; n++) {
      let jj = part + TPR * n;
      let pij = select(0.0, exp(dot_aa(r, jj) * p.scale - lse), j0 + jj <= i);
      tile_a[r * BN + jj] = pij * (dot_bb(r, jj) - delta);
    }
    workgroupBarrier();
    for (var jj = 0u; jj < BN; jj++) {
      let ds = tile_a[r * BN + jj];
      for (var c = 0u; c < DC; c++) { acc[c] = fma(ds, str_a[jj * DP + part + TPR * c], acc[c]); }
    }
  }
  if (i < p.t) {
    for (var c = 0u; c < DC; c++) { dqkv[p.dqkv_off + qkv_index(b, i, 0u, h, part + TPR * c)] = acc[c] * p.scale; }
  }
}

@compute @workgroup_size(WG)
fn attention_backward_dkdv(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let j0 = wid.x * BR;
  let h = wid.y;
  let b = wid.z;
  let r = lid / TPR;
  let part = lid % TPR;
  let j = j0 + r;
  for (var e = lid; e < BR * D; e += WG) {
    let t = j0 + e / D;
    let tc = min(t, p.t - 1u);
    own_a[e / D * DP + e % D] = select(0.0, qkv[p.qkv_off + qkv_index(b, tc, 1u, h, e % D)], t < p.t);
    own_b[e / D * DP + e % D] = select(0.0, qkv[p.qkv_off + qkv_index(b, tc, 2u, h, e % D)], t < p.t);
  }
  var dk: array<f32, MAX_DC>;
  var dv: array<f32, MAX_DC>;
  // Queries before the block's first key see none of its keys.
  for (var i0 = (j0 / BN) * BN; i0 < p.t; i0 += BN) {
    workgroupBarrier();
    for (var e = lid; e < BN * D; e += WG) {
      let t = i0 + e / D;
      let tc = min(t, p.t - 1u);
      str_a[e / D * DP + e % D] = select(0.0, qkv[p.qkv_off + qkv_index(b, tc, 0u, h, e % D)], t < p.t);
      str_b[e / D * DP + e % D] = select(0.0, dy_kv[p.dy_off + row_index(b, tc, h, e % D)], t < p.t);
    }
    for (var e = lid; e < BN; e += WG) {
      let tc = min(i0 + e, p.t - 1u);
      row_stats[e] = lse_kv[p.lse_off + stat_index(b, h, tc)];
      row_stats[BN + e] = delta_kv[p.delta_off + stat_index(b, h, tc)];
    }
    workgroupBarrier();
    for (var n = 0u; n < NPT; n++) {
      let ii = part + TPR * n;
      let qi = i0 + ii;
      let pij = select(0.0, exp(dot_aa(r, ii) * p.scale - row_stats[ii]), j <= qi && qi < p.t);
      tile_a[r * BN + ii] = pij;
      tile_b[r * BN + ii] = pij * (dot_bb(r, ii) - row_stats[BN + ii]);
    }
    workgroupBarrier();
    for (var ii = 0u; ii < BN; ii++) {
      let pij = tile_a[r * BN + ii];
      let ds = tile_b[r * BN + ii];
      for (var c = 0u; c < DC; c++) {
        let col = ii * DP + part + TPR * c;
        dv[c] = fma(pij, str_b[col], dv[c]);
        dk[c] = fma(ds, str_a[col], dk[c]);
      }
    }
  }
  if (j < p.t) {
    for (var c = 0u; c < DC; c++) {
      let col = part + TPR * c;
      dqkv_kv[p.dqkv_off + qkv_index(b, j, 1u, h, col)] = dk[c] * p.scale;
      dqkv_kv[p.dqkv_off + qkv_index(b, j, 2u, h, col)] = dv[c];
    }
  }
}
