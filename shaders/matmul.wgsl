// Tiled matrix multiply with a fused epilogue, for every dense layer forward and backward:
//
//   C[z] = act(alpha · op(A[z]) · op(B[z]) + bias)      (C[z] += ... when ACCUMULATE)
//
// op(X) is X or Xᵀ (TRANS_A / TRANS_B); storage is row-major, so A is M×K (K×M when TRANS_A) and B
// is K×N (N×K when TRANS_B). Every operand is addressed by an element offset, so weights can be
// segments of one flat parameter buffer; z (workgroup_id.z) indexes a batch of independent products
// through per-operand batch strides (0 broadcasts an operand). bias (length N) is shared by the batch.
//
// Each workgroup computes one TILE_M×TILE_N tile of C (TILE_M = 8·WG_Y, TILE_N = 8·WG_X): it walks K
// in steps of TILE_K, staging an A and a B tile in workgroup memory, and each thread accumulates an
// 8×8 block of C in registers. Both tiles are stored k-major as vec4s (a_tile[k][m/4],
// b_tile[k][n/4]), so the inner loop is 2 vec4 loads of A, 2 of B and 64 FMAs per k, whatever the
// transposes; the transposes only change how a tile is gathered from global memory. A thread's 8×8
// block is 2×2 quads of 4×4, half a tile apart (rows 4·ly + {0..3, 4·WG_Y..4·WG_Y+3}, columns
// likewise), so neighbouring threads read neighbouring vec4s of the tiles (no bank conflicts) and
// store neighbouring quads of C. Every global load is bounds-checked (zero outside), so M, N, K need
// not be multiples of the tile sizes.
//
// Two fused backward forms save a dispatch each per layer (a 3-layer MLP step needs 13, not 17):
// - matmul_act_grad: C = alpha · op(A) · op(B) ⊙ act'(pre), the gradient through the previous layer's
//   activation (dZ = dY·Wᵀ ⊙ act'(Z)); `pre` is read through binding 3 (the bias slot).
// - matmul_col_sums: also writes alpha · Σ_k op(B)[k, :] (the bias gradient Σ_batch dZ next to
//   dW = Xᵀ·dZ). The first row of workgroups sums the B tiles it already stages in workgroup memory,
//   so the column sums cost no extra global reads.
//
// 8×8 rather than 4×4 per thread: twice the FMAs per workgroup-memory load. On SwiftShader, where
// every per-invocation load is a gather, that measured 2× faster (256³–512³).

// --- specialisation (pipeline override constants) ---
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
// 0: none, 1: relu, 2: gelu (tanh approximation, as shaders/elementwise.wgsl).
override ACTIVATION: u32 = 0u;
override ACCUMULATE: bool = false;
// Set by the host for matmul_col_sums only.
override COLUMN_SUMS: bool = false;
// Tile configuration: WG_X threads along N, WG_Y along M, each owning 8×8 outputs; K is staged
// TILE_K at a time. Workgroup memory: 16·TILE_K·(2·WG_X + 2·WG_Y + 2) bytes (8,704 for the default
// 8, 8, 16), within WebGPU's guaranteed 16 KiB.
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override TILE_K: u32 = 16u;

// Derived; not meant to be overridden. QM, QN: vec4 quads per tile column / row. Tile rows are padded
// by one vec4 so that the transposing stores (consecutive threads writing consecutive k) fall in
// different banks on GPUs.
override QM: u32 = 2u * WG_Y;
override QN: u32 = 2u * WG_X;
override A_ROW: u32 = QM + 1u;
override B_ROW: u32 = QN + 1u;
override A_TILE_VEC4S: u32 = TILE_K * A_ROW;
override B_TILE_VEC4S: u32 = TILE_K * B_ROW;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  a_off: u32,
  b_off: u32,
  c_off: u32,
  bias_off: u32,
  pre_off: u32,
  a_batch_stride: u32,
  b_batch_stride: u32,
  c_batch_stride: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
// Without HAS_BIAS the host binds A here again; it is never read.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
// matmul_act_grad reads the pre-activation of the previous layer here instead (never with a bias).
@group(0) @binding(3) var<storage, read> pre_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
// Only matmul_pre uses binding 5: a second output, the pre-activation, for the backward pass.
@group(0) @binding(5) var<storage, read_write> pre: array<f32>;
// matmul_col_sums writes the column sums of op(B) here instead.
@group(0) @binding(5) var<storage, read_write> col_sums: array<f32>;

var<workgroup> a_tile: array<vec4f, A_TILE_VEC4S>;
var<workgroup> b_tile: array<vec4f, B_TILE_VEC4S>;

// This invocation's 8×8 block of op(A)·op(B): acc[2·r + h] holds row r (0..7, see block_row) and
// columns 4h..4h+3 (see block_col).
var<private> acc: array<vec4f, 16>;
// With COLUMN_SUMS, threads of the first tile row (wid.y = 0, lid.y = 0) accumulate Σ_k op(B)[k, n]
// for their columns 4·lid.x.. and 4·(lid.x + WG_X).. here.
var<private> col_acc: array<vec4f, 2>;

fn read_a(index: u32, inside: bool) -> f32 {
  if (inside) { return a[index]; }
  return 0.0;
}

fn read_b(index: u32, inside: bool) -> f32 {
  if (inside) { return b[index]; }
  return 0.0;
}

// Stages op(A)[m0 .. m0+TILE_M, k0 .. k0+TILE_K] into a_tile[k][m/4]. Each thread gathers 4 values
// of one k and 4 consecutive rows, and stores them as one vec4. Consecutive threads take
// consecutive addresses in global memory: along k when A is M×K, along m when A is K×M.
fn load_a_tile(tid: u32, m0: u32, k0: u32, base: u32) {
  for (var i = tid; i < TILE_K * QM; i += WG_X * WG_Y) {
    var kk: u32;
    var mq: u32;
    if (TRANS_A) {
      kk = i / QM;
      mq = i % QM;
    } else {
      kk = i % TILE_K;
      mq = i / TILE_K;
    }
    let gk = k0 + kk;
    let gm = m0 + 4u * mq;
    let k_in = gk < p.k;
    var v: vec4f;
    if (TRANS_A) {
      let at = base + gk * p.m + gm;
      v = vec4f(
        read_a(at, k_in && gm < p.m),
        read_a(at + 1u, k_in && gm + 1u < p.m),
        read_a(at + 2u, k_in && gm + 2u < p.m),
        read_a(at + 3u, k_in && gm + 3u < p.m));
    } else {
      let at = base + gm * p.k + gk;
      v = vec4f(
        read_a(at, k_in && gm < p.m),
        read_a(at + p.k, k_in && gm + 1u < p.m),
        read_a(at + 2u * p.k, k_in && gm + 2u < p.m),
        read_a(at + 3u * p.k, k_in && gm + 3u < p.m));
    }
    a_tile[kk * A_ROW + mq] = v;
  }
}

// Stages op(B)[k0 .. k0+TILE_K, n0 .. n0+TILE_N] into b_tile[k][n/4], as load_a_tile.
fn load_b_tile(tid: u32, n0: u32, k0: u32, base: u32) {
  for (var i = tid; i < TILE_K * QN; i += WG_X * WG_Y) {
    var kk: u32;
    var nq: u32;
    if (TRANS_B) {
      kk = i % TILE_K;
      nq = i / TILE_K;
    } else {
      kk = i / QN;
      nq = i % QN;
    }
    let gk = k0 + kk;
    let gn = n0 + 4u * nq;
    let k_in = gk < p.k;
    var v: vec4f;
    if (TRANS_B) {
      let at = base + gn * p.k + gk;
      v = vec4f(
        read_b(at, k_in && gn < p.n),
        read_b(at + p.k, k_in && gn + 1u < p.n),
        read_b(at + 2u * p.k, k_in && gn + 2u < p.n),
        read_b(at + 3u * p.k, k_in && gn + 3u < p.n));
    } else {
      let at = base + gk * p.n + gn;
      v = vec4f(
        read_b(at, k_in && gn < p.n),
        read_b(at + 1u, k_in && gn + 1u < p.n),
        read_b(at + 2u, k_in && gn + 2u < p.n),
        read_b(at + 3u, k_in && gn + 3u < p.n));
    }
    b_tile[kk * B_ROW + nq] = v;
  }
}

// Accumulates this invocation's 8×8 block of op(A)·op(B) into `acc`. The accumulators are 16 named
// vec4s and the inner loop is written out, so no compiler has to unroll or scalarise an array
// (SwiftShader's JIT does neither).
fn compute_block(lid: vec3u, wid: vec3u) {
  let tid = lid.y * WG_X + lid.x;
  let m0 = wid.y * 8u * WG_Y;
  let n0 = wid.x * 8u * WG_X;
  let a_base = p.a_off + wid.z * p.a_batch_stride;
  let b_base = p.b_off + wid.z * p.b_batch_stride;
  var c00 = vec4f(0.0);
  var c01 = vec4f(0.0);
  var c10 = vec4f(0.0);
  var c11 = vec4f(0.0);
  var c20 = vec4f(0.0);
  var c21 = vec4f(0.0);
  var c30 = vec4f(0.0);
  var c31 = vec4f(0.0);
  var c40 = vec4f(0.0);
  var c41 = vec4f(0.0);
  var c50 = vec4f(0.0);
  var c51 = vec4f(0.0);
  var c60 = vec4f(0.0);
  var c61 = vec4f(0.0);
  var c70 = vec4f(0.0);
  var c71 = vec4f(0.0);
  for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
    load_a_tile(tid, m0, k0, a_base);
    load_b_tile(tid, n0, k0, b_base);
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let a0 = a_tile[kk * A_ROW + lid.y];
      let a1 = a_tile[kk * A_ROW + lid.y + WG_Y];
      let b0 = b_tile[kk * B_ROW + lid.x];
      let b1 = b_tile[kk * B_ROW + lid.x + WG_X];
      c00 = fma(vec4f(a0.x), b0, c00);
      c01 = fma(vec4f(a0.x), b1, c01);
      c10 = fma(vec4f(a0.y), b0, c10);
      c11 = fma(vec4f(a0.y), b1, c11);
      c20 = fma(vec4f(a0.z), b0, c20);
      c21 = fma(vec4f(a0.z), b1, c21);
      c30 = fma(vec4f(a0.w), b0, c30);
      c31 = fma(vec4f(a0.w), b1, c31);
      c40 = fma(vec4f(a1.x), b0, c40);
      c41 = fma(vec4f(a1.x), b1, c41);
      c50 = fma(vec4f(a1.y), b0, c50);
      c51 = fma(vec4f(a1.y), b1, c51);
      c60 = fma(vec4f(a1.z), b0, c60);
      c61 = fma(vec4f(a1.z), b1, c61);
      c70 = fma(vec4f(a1.w), b0, c70);
      c71 = fma(vec4f(a1.w), b1, c71);
    }
    if (COLUMN_SUMS && wid.y == 0u && lid.y == 0u) {
      // Rows past K were staged as zeros, so they add nothing.
      for (var kk = 0u; kk < TILE_K; kk++) {
        col_acc[0] += b_tile[kk * B_ROW + lid.x];
        col_acc[1] += b_tile[kk * B_ROW + lid.x + WG_X];
      }
    }
    workgroupBarrier();
  }
  acc[0] = c00;
  acc[1] = c01;
  acc[2] = c10;
  acc[3] = c11;
  acc[4] = c20;
  acc[5] = c21;
  acc[6] = c30;
  acc[7] = c31;
  acc[8] = c40;
  acc[9] = c41;
  acc[10] = c50;
  acc[11] = c51;
  acc[12] = c60;
  acc[13] = c61;
  acc[14] = c70;
  acc[15] = c71;
}

// Row of C (within the batch item) of block row r (0..7) of this invocation.
fn block_row(lid: vec3u, wid: vec3u, r: u32) -> u32 {
  return wid.y * 8u * WG_Y + 4u * (lid.y + (r / 4u) * WG_Y) + r % 4u;
}

// Column of C of block column j (0..7) of this invocation.
fn block_col(lid: vec3u, wid: vec3u, j: u32) -> u32 {
  return wid.x * 8u * WG_X + 4u * (lid.x + (j / 4u) * WG_X) + j % 4u;
}

// @include "lib/activation.wgsl"

// alpha · product + bias of output column `col`.
fn pre_activation(r: u32, j: u32, col: u32) -> f32 {
  var v = p.alpha * acc[2u * r + j / 4u][j % 4u];
  if (HAS_BIAS) { v += bias[p.bias_off + col]; }
  return v;
}

fn store(index: u32, value: f32) {
  if (ACCUMULATE) {
    c[index] = c[index] + value;
  } else {
    c[index] = value;
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  compute_block(lid, wid);
  let c_base = p.c_off + wid.z * p.c_batch_stride;
  for (var r = 0u; r < 8u; r++) {
    let row = block_row(lid, wid, r);
    if (row >= p.m) { continue; }
    for (var j = 0u; j < 8u; j++) {
      let col = block_col(lid, wid, j);
      if (col >= p.n) { continue; }
      store(c_base + row * p.n + col, apply_activation(ACTIVATION, pre_activation(r, j, col)));
    }
  }
}

// As matmul, and also writes the pre-activation (alpha·op(A)·op(B) + bias, never accumulated) to
// `pre`, laid out as C.
@compute @workgroup_size(WG_X, WG_Y)
fn matmul_pre(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  compute_block(lid, wid);
  let item = wid.z * p.c_batch_stride;
  for (var r = 0u; r < 8u; r++) {
    let row = block_row(lid, wid, r);
    if (row >= p.m) { continue; }
    for (var j = 0u; j < 8u; j++) {
      let col = block_col(lid, wid, j);
      if (col >= p.n) { continue; }
      let v = pre_activation(r, j, col);
      pre[p.pre_off + item + row * p.n + col] = v;
      store(p.c_off + item + row * p.n + col, apply_activation(ACTIVATION, v));
    }
  }
}

// C = alpha · op(A) · op(B) ⊙ act'(pre_in), laid out as C (pre_in at pre_off, batch-strided as C):
// the backward pass through a matmul followed by the previous layer's activation.
@compute @workgroup_size(WG_X, WG_Y)
fn matmul_act_grad(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  compute_block(lid, wid);
  let item = wid.z * p.c_batch_stride;
  for (var r = 0u; r < 8u; r++) {
    let row = block_row(lid, wid, r);
    if (row >= p.m) { continue; }
    for (var j = 0u; j < 8u; j++) {
      let col = block_col(lid, wid, j);
      if (col >= p.n) { continue; }
      let v = p.alpha * acc[2u * r + j / 4u][j % 4u];
      store(p.c_off + item + row * p.n + col, v * activation_derivative(ACTIVATION, pre_in[p.pre_off + item + row * p.n + col]));
    }
  }
}

// As matmul (no batch), and also col_sums[pre_off + n] = alpha · Σ_k op(B)[k, n] (+= with ACCUMULATE).
@compute @workgroup_size(WG_X, WG_Y)
fn matmul_col_sums(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  col_acc[0] = vec4f(0.0);
  col_acc[1] = vec4f(0.0);
  compute_block(lid, wid);
  for (var r = 0u; r < 8u; r++) {
    let row = block_row(lid, wid, r);
    if (row >= p.m) { continue; }
    for (var j = 0u; j < 8u; j++) {
      let col = block_col(lid, wid, j);
      if (col >= p.n) { continue; }
      store(p.c_off + row * p.n + col, apply_activation(ACTIVATION, pre_activation(r, j, col)));
    }
  }
  if (wid.y == 0u && lid.y == 0u) {
    for (var j = 0u; j < 8u; j++) {
      let col = block_col(lid, wid, j);
      if (col >= p.n) { continue; }
      let v = p.alpha * col_acc[j / 4u][j % 4u];
      let at = p.pre_off + col;
      if (ACCUMULATE) { col_sums[at] = col_sums[at] + v; } else { col_sums[at] = v; }
    }
  }
}
