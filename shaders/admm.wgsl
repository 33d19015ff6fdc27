// Network Lasso by ADMM (ALGORITHMS.md §4): the edge (z) and dual (u) updates, batched over edges.
//
// Layout (row-major, d floats per row):
//   X [N × d]            node variables x_i
//   U, Z [C × d]         one row per directed edge copy. In the batched (one worker) form C = 2E:
//                        copy 2e is (i → j), held by i (u_ij, z_ij); copy 2e + 1 is (j → i).
//   edges [2E] u32       (i_e, j_e) pairs, so edges[c] is the node owning copy c (the u-update's
//                        owner table in the batched form).
//   weights [E] f32      w_e; in the decentralized form one weight per local directed copy.
//   theta [E] f32        θ of each edge (θ = ½: the edge is in consensus).
//
// z-update per edge: a = x_i + u_ij, b = x_j + u_ji,
//   θ = max(1 − λ w / (ρ ‖a − b‖₂), ½)   (‖a − b‖ = 0 → θ = ½),
//   z_ij = θ a + (1 − θ) b,   z_ji = (1 − θ) a + θ b.
// Both ends of an edge (possibly on different workers and GPUs) must get the same θ bits, so θ is
// computed deterministically: ‖a − b‖² is summed sequentially over k = 0..d−1 with each square
// rounded before its add (an opaque zero OR-ed into the product keeps compilers from fusing it into
// an fma, which WGSL allows), and the square root and the division, which WGSL implements only to
// a few ulp, are done in integer arithmetic, correctly rounded. admm.ts's admmThetaF32 is the same
// computation on the host, bit for bit. One invocation per edge loops over d: right for the small d
// (≤ ~64) of Network Lasso; rows are contiguous, so each thread streams its own cache lines.

override WG: u32 = 256;

struct ZBatched {
  edges: u32,          // E
  d: u32,
  x_off: u32,
  u_off: u32,
  z_off: u32,
  theta_off: u32,
  pairs_off: u32,
  w_off: u32,
  lambda_over_rho: f32, // fround(λ / ρ), computed host-side
  opaque_zero: u32,     // always 0; the compiler cannot know it
}

struct ZMessages {
  copies: u32,         // C: local directed edge copies
  d: u32,
  own_off: u32,        // m_ij = x_i + u_ij, as sent
  recv_off: u32,       // m_ji, as received
  z_off: u32,
  theta_off: u32,
  w_off: u32,
  lambda_over_rho: f32,
  opaque_zero: u32,
}

struct Rows {
  copies: u32,         // C
  d: u32,
  x_off: u32,
  in_off: u32,         // U (messages) or Z (u-update)
  owners_off: u32,
  out_off: u32,        // messages or U
}

@group(0) @binding(0) var<uniform> zb: ZBatched;
@group(0) @binding(0) var<uniform> zm: ZMessages;
@group(0) @binding(0) var<uniform> rp: Rows;

// z_update_batched: 1 X, 2 U, 3 pairs, 4 weights (read); 5 Z, 6 theta (read_write).
// z_update_messages: 1 own, 2 received, 3 weights (read); 4 Z, 5 theta (read_write).
// edge_messages: 1 X, 2 U, 3 owners (read); 4 messages (read_write).
// u_update: 1 X, 2 Z, 3 owners (read); 4 U (read_write).
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read> own_msg: array<f32>;
@group(0) @binding(2) var<storage, read> rows_in: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read> msg_weights: array<f32>;
@group(0) @binding(4) var<storage, read> edge_weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> rows_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> z_msg: array<f32>;
@group(0) @binding(5) var<storage, read_write> z_batched: array<f32>;
@group(0) @binding(5) var<storage, read_write> theta_msg: array<f32>;
@group(0) @binding(6) var<storage, read_write> theta_batched: array<f32>;

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// ---- correctly rounded sqrt and division of positive finite f32, in integers -----------------------

struct Unpacked {
  m: u32, // significand with its leading one at bit 23
  e: i32, // value = m · 2^(e − 23)
}

fn unpack_positive(v: f32) -> Unpacked {
  let b = bitcast<u32>(v);
  let be = b >> 23u;
  let f = b & 0x7fffffu;
  if (be != 0u) { return Unpacked(f | 0x800000u, i32(be) - 127); }
  let sh = countLeadingZeros(f) - 8u; // subnormal: normalise
  return Unpacked(f << sh, -126 - i32(sh));
}

// f32 from a 24-bit significand (leading one at bit 23, or 2^24 after a rounding carry) and exponent.
// Overflow → +Inf; underflow → 0 (only the division can underflow, and then θ = fround(1 − q) = 1
// either way).
fn pack_positive(kept_in: u32, e_in: i32) -> f32 {
  var kept = kept_in;
  var e = e_in;
  if (kept == 0x1000000u) { kept = kept >> 1u; e += 1; }
  // A let, not a literal: bitcast<f32>(0x7f800000u) would be a const-expression, and those may not be Inf.
  let inf_bits = 0x7f800000u;
  if (e > 127) { return bitcast<f32>(inf_bits); }
  if (e < -126) { return 0.0; }
  return bitcast<f32>((u32(e + 127) << 23u) | (kept & 0x7fffffu));
}

// Classification by bits, not float compares: GPUs that flush subnormals would see a subnormal as 0
// in a compare (and fast-math backends may fold `v != v`), and θ must not depend on either.
fn is_positive_finite(v: f32) -> bool {
  return bitcast<u32>(v) - 1u < 0x7f7fffffu; // bits in [1, 0x7f7fffff]
}

fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn sqrt_rn(s: f32) -> f32 {
  if (!is_positive_finite(s)) { return sqrt(s); } // ±0, Inf, NaN, negatives: exact anyway
  let u = unpack_positive(s);
  var m = u.m;
  var t = u.e - 23; // s = m · 2^t
  if ((t & 1) != 0) { m = m << 1u; t -= 1; }
  // root = floor(sqrt(m · 2^26)) ∈ [2^24.5, 2^25.5), digit by digit; the radicand's bits above 26
  // are m's, the rest are zero. rem < 2·root + 1 < 2^27 stays in a u32.
  var root = 0u;
  var rem = 0u;
  for (var j = 0u; j < 26u; j++) {
    let low = 50u - 2u * j;
    var two = 0u;
    if (low >= 26u) { two = (m >> (low - 26u)) & 3u; }
    rem = (rem << 2u) | two;
    let trial = (root << 2u) | 1u;
    if (rem >= trial) {
      rem -= trial;
      root = (root << 1u) | 1u;
    } else {
      root = root << 1u;
    }
  }
  let drop = (32u - countLeadingZeros(root)) - 24u; // 1 or 2
  var kept = root >> drop;
  let dropped = root & ((1u << drop) - 1u);
  let half = 1u << (drop - 1u);
  if (dropped > half || (dropped == half && (rem != 0u || (kept & 1u) == 1u))) { kept += 1u; }
  // sqrt(s) = root · 2^(t/2 − 13) = kept · 2^(t/2 − 13 + drop)
  return pack_positive(kept, t / 2 - 13 + i32(drop) + 23);
}

fn div_rn(c: f32, r: f32) -> f32 {
  // Zeros, Inf, NaN: the native division is exact (θ only divides by r = sqrt(s) with s > 0).
  if (!is_positive_finite(c) || !is_positive_finite(r)) { return c / r; }
  let a = unpack_positive(c);
  let b = unpack_positive(r);
  var ma = a.m;
  var e = a.e - b.e;
  if (ma < b.m) { ma = ma << 1u; e -= 1; } // ma / mb ∈ [1, 2)
  // q = floor(ma · 2^24 / mb): 25 bits by long division; rem < 2·mb < 2^25.
  var rem = ma;
  var q = 0u;
  for (var i = 0u; i < 25u; i++) {
    q = q << 1u;
    if (rem >= b.m) { rem -= b.m; q |= 1u; }
    rem = rem << 1u;
  }
  var kept = q >> 1u;
  if ((q & 1u) == 1u && (rem != 0u || (kept & 1u) == 1u)) { kept += 1u; }
  return pack_positive(kept, e);
}

// θ from s = ‖a − b‖² and c = fround(λ/ρ) · w (see admmThetaF32).
fn edge_theta(s: f32, c: f32) -> f32 {
  if (is_nan(s)) { return s; } // NaN inputs stay visible
  if ((bitcast<u32>(s) & 0x7fffffffu) == 0u) { return 0.5; }
  let t = 1.0 - div_rn(c, sqrt_rn(s));
  if (is_nan(t)) { return t; }
  return max(t, 0.5);
}

// One rounded square per term, then one rounded add: the opaque zero stops fma contraction.
fn add_square(s: f32, diff: f32, opaque_zero: u32) -> f32 {
  return s + bitcast<f32>(bitcast<u32>(diff * diff) | opaque_zero);
}

@compute @workgroup_size(WG)
fn z_update_batched(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = linear_index(gid, nwg);
  if (e >= zb.edges) { return; }
  let d = zb.d;
  let xa = zb.x_off + table[zb.pairs_off + 2u * e] * d;
  let xb = zb.x_off + table[zb.pairs_off + 2u * e + 1u] * d;
  let ua = zb.u_off + 2u * e * d;
  let ub = ua + d;
  var s = 0.0;
  for (var k = 0u; k < d; k++) {
    let a = xs[xa + k] + rows_in[ua + k];
    let b = xs[xb + k] + rows_in[ub + k];
    s = add_square(s, a - b, zb.opaque_zero);
  }
  let theta = edge_theta(s, zb.lambda_over_rho * edge_weights[zb.w_off + e]);
  let za = zb.z_off + 2u * e * d;
  let zbase = za + d;
  for (var k = 0u; k < d; k++) {
    let a = xs[xa + k] + rows_in[ua + k];
    let b = xs[xb + k] + rows_in[ub + k];
    z_batched[za + k] = theta * a + (1.0 - theta) * b;
    z_batched[zbase + k] = (1.0 - theta) * a + theta * b;
  }
  theta_batched[zb.theta_off + e] = theta;
}

// Decentralized form: copy c holds a = m_ij (the message this worker sent) and receives b = m_ji.
// Only z_ij is written; the neighbour computes z_ji from the same two messages and gets the same θ.
@compute @workgroup_size(WG)
fn z_update_messages(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = linear_index(gid, nwg);
  if (c >= zm.copies) { return; }
  let d = zm.d;
  let ra = zm.own_off + c * d;
  let rb = zm.recv_off + c * d;
  var s = 0.0;
  for (var k = 0u; k < d; k++) {
    s = add_square(s, own_msg[ra + k] - rows_in[rb + k], zm.opaque_zero);
  }
  let theta = edge_theta(s, zm.lambda_over_rho * msg_weights[zm.w_off + c]);
  let rz = zm.z_off + c * d;
  for (var k = 0u; k < d; k++) {
    z_msg[rz + k] = theta * own_msg[ra + k] + (1.0 - theta) * rows_in[rb + k];
  }
  theta_msg[zm.theta_off + c] = theta;
}

// m_c = x_owner(c) + u_c: the message each local directed copy sends. One thread per element.
@compute @workgroup_size(WG)
fn edge_messages(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= rp.copies * rp.d) { return; }
  let c = i / rp.d;
  let k = i - c * rp.d;
  let node = table[rp.owners_off + c];
  rows_out[rp.out_off + i] = xs[rp.x_off + node * rp.d + k] + rows_in[rp.in_off + i];
}

// u_c ← u_c + x_owner(c) − z_c, for every directed copy. One thread per element.
@compute @workgroup_size(WG)
fn u_update(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= rp.copies * rp.d) { return; }
  let c = i / rp.d;
  let k = i - c * rp.d;
  let node = table[rp.owners_off + c];
  rows_out[rp.out_off + i] = rows_out[rp.out_off + i] + (xs[rp.x_off + node * rp.d + k] - rows_in[rp.in_off + i]);
}

// Test hook for the integer arithmetic above: out[2i] = sqrt_rn(a[i]), out[2i + 1] = div_rn(a[i], b[i]).
// θ = fround(1 − q) hides most errors of q, so the tests check sqrt_rn and div_rn directly.
@group(0) @binding(3) var<storage, read_write> rounding_out: array<f32>;

@compute @workgroup_size(WG)
fn rounding_check(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= rp.copies) { return; }
  let a = own_msg[rp.x_off + i];
  rounding_out[2u * i] = sqrt_rn(a);
  rounding_out[2u * i + 1u] = div_rn(a, rows_in[rp.in_off + i]);
}
