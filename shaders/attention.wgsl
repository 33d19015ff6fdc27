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
// keeps the vec4 column chunks part, part + TPR, ... of its outputs in registers (strided so
// neighbouring threads touch neighbouring addresses). The other operand is streamed in tiles of BN
// rows staged in workgroup memory; each thread computes BN/TPR of the BR×BN scores as full D-long
// dot products. Tiles are vec4 rows padded by one vec4 (stride D + 4 floats), so the inner loops
// are 128-bit workgroup loads and the rows that a warp reads at once fall in different banks.
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

override D: u32 = 32u;   // head size, a multiple of 4·TPR with D/(4·TPR) ≤ MAX_DC
override BR: u32 = 16u;  // owned rows per workgroup
override BN: u32 = 16u;  // rows per streamed tile, a multiple of TPR
override TPR: u32 = 4u;  // threads per owned row
override WG: u32 = BR * TPR;
override D4: u32 = D / 4u;     // vec4s per row
override DP4: u32 = D4 + 1u;   // padded row stride of the tiles, in vec4s
override DC: u32 = D4 / TPR;   // vec4 output chunks per thread
override NPT: u32 = BN / TPR;  // scores per thread per tile, ≤ MAX_NPT
override BT: u32 = BN + 1u;    // row stride of the score tiles, odd so that rows fall in different banks

const MAX_DC: u32 = 4u;
const MAX_NPT: u32 = 4u;
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
var<workgroup> own_a: array<vec4f, BR * DP4>;
var<workgroup> own_b: array<vec4f, BR * DP4>;
var<workgroup> str_a: array<vec4f, BN * DP4>;
var<workgroup> str_b: array<vec4f, BN * DP4>;
var<workgroup> tile_a: array<f32, BR * BT>;
var<workgroup> tile_b: array<f32, BR * BT>;
var<workgroup> row_stats: array<f32, 2 * BN>; // dkdv: L and Δ of the streamed query rows

// Element (token t of batch item b, part which ∈ {0: q, 1: k, 2: v}, head h, column col) of qkv.
fn qkv_index(b: u32, t: u32, which: u32, h: u32, col: u32) -> u32 {
  return (b * p.t + t) * 3u * p.c + which * p.c + h * D + col;
}

// Element (b, t, h, col) of a [B·T, C] operand (y, dy).
fn row_index(b: u32, t: u32, h: u32, col: u32) -> u32 {
  return (b * p.t + t) * p.c + h * D + col;
}

fn stat_index(b: u32, h: u32, t: u32) -> u32 {
  return (b * p.heads + h) * p.t + t;
}

// Columns 4·c4 .. 4·c4 + 3 of token t's q, k or v (element offsets need not be 16-byte aligned, so
// global memory is read as scalars). Tokens past T read as zeros.
fn load_qkv(b: u32, t: u32, which: u32, h: u32, c4: u32) -> vec4f {
  let e = p.qkv_off + qkv_index(b, min(t, p.t - 1u), which, h, 4u * c4);
  return select(vec4f(0.0), vec4f(qkv[e], qkv[e + 1u], qkv[e + 2u], qkv[e + 3u]), t < p.t);
}

fn load_dy(b: u32, t: u32, h: u32, c4: u32) -> vec4f {
  let e = p.dy_off + row_index(b, min(t, p.t - 1u), h, 4u * c4);
  return select(vec4f(0.0), vec4f(dy[e], dy[e + 1u], dy[e + 2u], dy[e + 3u]), t < p.t);
}

fn load_dy_kv(b: u32, t: u32, h: u32, c4: u32) -> vec4f {
  let e = p.dy_off + row_index(b, min(t, p.t - 1u), h, 4u * c4);
  return select(vec4f(0.0), vec4f(dy_kv[e], dy_kv[e + 1u], dy_kv[e + 2u], dy_kv[e + 3u]), t < p.t);
}

fn load_y(b: u32, t: u32, h: u32, c4: u32) -> vec4f {
  let e = p.y_off + row_index(b, min(t, p.t - 1u), h, 4u * c4);
  return select(vec4f(0.0), vec4f(y_in[e], y_in[e + 1u], y_in[e + 2u], y_in[e + 3u]), t < p.t);
}

// The thread's NPT scores: row r of `own_a` dotted with rows part + TPR·n of `str_a` (and likewise
// own_b · str_b). Each vec4 of the owned row is loaded once for all NPT streamed rows; every dot
// product still sums its D/4 chunks in order.
fn dots_aa(r: u32, part: u32) -> array<f32, MAX_NPT> {
  var s: array<f32, MAX_NPT>;
  for (var c = 0u; c < D4; c++) {
    let x = own_a[r * DP4 + c];
    for (var n = 0u; n < NPT; n++) { s[n] += dot(x, str_a[(part + TPR * n) * DP4 + c]); }
  }
  return s;
}

fn dots_bb(r: u32, part: u32) -> array<f32, MAX_NPT> {
  var s: array<f32, MAX_NPT>;
  for (var c = 0u; c < D4; c++) {
    let x = own_b[r * DP4 + c];
    for (var n = 0u; n < NPT; n++) { s[n] += dot(x, str_b[(part + TPR * n) * DP4 + c]); }
  }
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
  for (var e = lid; e < BR * D4; e += WG) { own_a[e / D4 * DP4 + e % D4] = load_qkv(b, i0 + e / D4, 0u, h, e % D4); }
  var m = NEG;
  var l = 0.0;
  var acc: array<vec4f, MAX_DC>;
  let last = min(i0 + BR, p.t) - 1u; // the last query row of the block: keys beyond it are masked
  for (var j0 = 0u; j0 <= last; j0 += BN) {
    workgroupBarrier(); // the previous tile is no longer read
    for (var e = lid; e < BN * D4; e += WG) {
      let at = e / D4 * DP4 + e % D4;
      str_a[at] = load_qkv(b, j0 + e / D4, 1u, h, e % D4);
      str_b[at] = load_qkv(b, j0 + e / D4, 2u, h, e % D4);
    }
    workgroupBarrier();
    let sc = dots_aa(r, part);
    for (var n = 0u; n < NPT; n++) {
      let jj = part + TPR * n;
      tile_a[r * BT + jj] = select(NEG, sc[n] * p.scale, j0 + jj <= i);
    }
    workgroupBarrier();
    // Every thread of the row repeats the row's max and exps (BN each) rather than share them: it
    // saves a barrier and a tile, and costs BN exps against BN·D/TPR FMAs per thread.
    var m_new = m;
    for (var jj = 0u; jj < BN; jj++) { m_new = max(m_new, tile_a[r * BT + jj]); }
    let rescale = exp(m - m_new);
    l *= rescale;
    for (var c = 0u; c < DC; c++) { acc[c] *= rescale; }
    for (var jj = 0u; jj < BN; jj++) {
      let pj = exp(tile_a[r * BT + jj] - m_new);
      l += pj;
      for (var c = 0u; c < DC; c++) { acc[c] = fma(vec4f(pj), str_b[jj * DP4 + part + TPR * c], acc[c]); }
    }
    m = m_new;
  }
  if (i < p.t) {
    let inv_l = 1.0 / l;
    for (var c = 0u; c < DC; c++) {
      let e = p.y_off + row_index(b, i, h, 4u * (part + TPR * c));
      let v = acc[c] * inv_l;
      y_out[e] = v.x;
      y_out[e + 1u] = v.y;
      y_out[e + 2u] = v.z;
      y_out[e + 3u] = v.w;
    }
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
  for (var e = lid; e < BR * D4; e += WG) {
    let at = e / D4 * DP4 + e % D4;
    own_a[at] = load_qkv(b, i0 + e / D4, 0u, h, e % D4);
    own_b[at] = load_dy(b, i0 + e / D4, h, e % D4);
  }
  // Δ_i = dy_i · y_i: each thread sums its chunks, then the row's TPR partials are added in order.
  // Rows past T read zeros and get Δ = 0; they write nothing.
  var part_sum = 0.0;
  for (var c = 0u; c < DC; c++) { part_sum += dot(load_dy(b, i, h, part + TPR * c), load_y(b, i, h, part + TPR * c)); }
  tile_a[r * BT + part] = part_sum;
  workgroupBarrier();
  var delta = 0.0;
  for (var k = 0u; k < TPR; k++) { delta += tile_a[r * BT + k]; }
  let lse = lse_in[p.lse_off + stat_index(b, h, min(i, p.t - 1u))];
  if (i < p.t && part == 0u) { delta_out[p.delta_off + stat_index(b, h, i)] = delta; }
  var acc: array<vec4f, MAX_DC>;
  let last = min(i0 + BR, p.t) - 1u;
  for (var j0 = 0u; j0 <= last; j0 += BN) {
    workgroupBarrier();
    for (var e = lid; e < BN * D4; e += WG) {
      let at = e / D4 * DP4 + e % D4;
      str_a[at] = load_qkv(b, j0 + e / D4, 1u, h, e % D4);
      str_b[at] = load_qkv(b, j0 + e / D4, 2u, h, e % D4);
    }
    workgroupBarrier();
    let sc = dots_aa(r, part);
    let dp = dots_bb(r, part);
    for (var n = 0u; n < NPT; n++) {
      let jj = part + TPR * n;
      let pij = select(0.0, exp(sc[n] * p.scale - lse), j0 + jj <= i);
      tile_a[r * BT + jj] = pij * (dp[n] - delta);
    }
    workgroupBarrier();
    for (var jj = 0u; jj < BN; jj++) {
      let ds = vec4f(tile_a[r * BT + jj]);
      for (var c = 0u; c < DC; c++) { acc[c] = fma(ds, str_a[jj * DP4 + part + TPR * c], acc[c]); }
    }
  }
  if (i < p.t) {
    for (var c = 0u; c < DC; c++) {
      let e = p.dqkv_off + qkv_index(b, i, 0u, h, 4u * (part + TPR * c));
      let v = acc[c] * p.scale;
      dqkv[e] = v.x;
      dqkv[e + 1u] = v.y;
      dqkv[e + 2u] = v.z;
      dqkv[e + 3u] = v.w;
    }
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
  for (var e = lid; e < BR * D4; e += WG) {
    let at = e / D4 * DP4 + e % D4;
    own_a[at] = load_qkv(b, j0 + e / D4, 1u, h, e % D4);
    own_b[at] = load_qkv(b, j0 + e / D4, 2u, h, e % D4);
  }
  var dk: array<vec4f, MAX_DC>;
  var dv: array<vec4f, MAX_DC>;
  // Queries before the block's first key see none of its keys.
  for (var i0 = (j0 / BN) * BN; i0 < p.t; i0 += BN) {
    workgroupBarrier();
    for (var e = lid; e < BN * D4; e += WG) {
      let at = e / D4 * DP4 + e % D4;
      str_a[at] = load_qkv(b, i0 + e / D4, 0u, h, e % D4);
      str_b[at] = load_dy_kv(b, i0 + e / D4, h, e % D4);
    }
    for (var e = lid; e < BN; e += WG) {
      let at = p.lse_off + stat_index(b, h, min(i0 + e, p.t - 1u));
      row_stats[e] = lse_kv[at];
      row_stats[BN + e] = delta_kv[p.delta_off + stat_index(b, h, min(i0 + e, p.t - 1u))];
    }
    workgroupBarrier();
    let sc = dots_aa(r, part);
    let dp = dots_bb(r, part);
    for (var n = 0u; n < NPT; n++) {
      let ii = part + TPR * n;
      let qi = i0 + ii;
      let pij = select(0.0, exp(sc[n] * p.scale - row_stats[ii]), j <= qi && qi < p.t);
      tile_a[r * BT + ii] = pij;
      tile_b[r * BT + ii] = pij * (dp[n] - row_stats[BN + ii]);
    }
    workgroupBarrier();
    for (var ii = 0u; ii < BN; ii++) {
      let pij = vec4f(tile_a[r * BT + ii]);
      let ds = vec4f(tile_b[r * BT + ii]);
      for (var c = 0u; c < DC; c++) {
        let at = ii * DP4 + part + TPR * c;
        dv[c] = fma(pij, str_b[at], dv[c]);
        dk[c] = fma(ds, str_a[at], dk[c]);
      }
    }
  }
  if (j < p.t) {
    for (var c = 0u; c < DC; c++) {
      let col = 4u * (part + TPR * c);
      let ek = p.dqkv_off + qkv_index(b, j, 1u, h, col);
      let ev = p.dqkv_off + qkv_index(b, j, 2u, h, col);
      let k4 = dk[c] * p.scale;
      dqkv_kv[ek] = k4.x;
      dqkv_kv[ek + 1u] = k4.y;
      dqkv_kv[ek + 2u] = k4.z;
      dqkv_kv[ek + 3u] = k4.w;
      dqkv_kv[ev] = dv[c].x;
      dqkv_kv[ev + 1u] = dv[c].y;
      dqkv_kv[ev + 2u] = dv[c].z;
      dqkv_kv[ev + 3u] = dv[c].w;
    }
  }
}
