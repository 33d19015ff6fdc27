// Wire compression: float32 ranges packed into u32 words and back, so the packed buffer can be sent as
// is. Layouts (little-endian words):
//   fp16, bf16: ceil(n/2) words; element 2w in bits 0..15 of word w, element 2w+1 in bits 16..31;
//               an odd n leaves the high half of the last word zero.
//   int8:       ceil(n/B) scale words (f32 bits; block b covers elements [bB, bB + B)), then
//               ceil(n/4) words of int8 (element 4w + j in byte j of word w, two's complement);
//               B is a multiple of 4, so blocks start on word boundaries; unused bytes are zero.
//
// fp16 and bf16 are encoded with integer operations, round to nearest even: WGSL leaves the rounding
// direction of pack2x16float, its result for values outside the f16 range and the flushing of
// subnormals to the implementation, and the same bits on every worker matter on a wire. Decoding is
// exact (every f16/bf16 value is an f32) and done in integers too, so f16 subnormals survive.

override WG: u32 = 256;

struct Pack {
  n: u32,      // float elements
  x_off: u32,  // float range start (elements)
  p_off: u32,  // packed range start (words)
  block: u32,  // int8 block size B (elements); unused by fp16/bf16
}

@group(0) @binding(0) var<uniform> p: Pack;

// pack_*:   1 x (read), 2 packed (read_write).   unpack_*: 1 packed (read), 2 x (read_write).
// fp16/bf16 read and write the float32s as raw u32 bits: a float load or store is allowed to flush
// subnormals on some GPUs, a u32 one moves the bits untouched.
@group(0) @binding(1) var<storage, read> x_in: array<f32>;
@group(0) @binding(1) var<storage, read> x_bits: array<u32>;
@group(0) @binding(1) var<storage, read> packed_in: array<u32>;
@group(0) @binding(2) var<storage, read_write> packed_out: array<u32>;
@group(0) @binding(2) var<storage, read_write> x_out: array<f32>;
@group(0) @binding(2) var<storage, read_write> x_out_bits: array<u32>;

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// ---- fp16 -----------------------------------------------------------------------------------------

// IEEE binary16 bits of an f32, round to nearest even; overflow → ±Inf; NaN → quiet NaN (sign kept).
fn f32_to_f16_bits(b: u32) -> u32 {
  let sign = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a >= 0x7f800000u) {
    return sign | select(0x7c00u, 0x7e00u, a > 0x7f800000u);
  }
  // 65520 = halfway between 65504 (max f16) and 65536: ties go to even, i.e. to infinity.
  if (a >= 0x477ff000u) { return sign | 0x7c00u; }
  if (a >= 0x38800000u) {
    // Normal f16: rebias the exponent (127 → 15) and round the 13 dropped mantissa bits. A carry out
    // of the mantissa correctly bumps the exponent.
    var h = (a - 0x38000000u) >> 13u;
    let rest = a & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)) { h += 1u; }
    return sign | h;
  }
  // Subnormal f16 (units of 2^-24). Below 2^-25 (half the smallest subnormal, a tie to 0) → ±0.
  if (a <= 0x33000000u) { return sign; }
  let m = (a & 0x7fffffu) | 0x800000u;
  let shift = 126u - (a >> 23u); // 14..24: value = m · 2^(e−150) = (m >> shift) units of 2^-24
  var h = m >> shift;
  let rest = m & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  if (rest > half || (rest == half && (h & 1u) == 1u)) { h += 1u; }
  return sign | h;
}

// Exact f32 bits of binary16 bits (subnormals included; NaN payload kept).
fn f16_to_f32_bits(h: u32) -> u32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0x1fu) { return sign | 0x7f800000u | (m << 13u); }
  if (e != 0u) { return sign | ((e + 112u) << 23u) | (m << 13u); }
  if (m == 0u) { return sign; }
  // Subnormal: m · 2^-24 with the leading one at bit p → f32 exponent p − 24.
  let lead = 31u - countLeadingZeros(m);
  return sign | ((lead + 103u) << 23u) | ((m << (23u - lead)) & 0x7fffffu);
}

@compute @workgroup_size(WG)
fn pack_fp16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = linear_index(gid, nwg);
  let i = 2u * w;
  if (i >= p.n) { return; }
  let lo = f32_to_f16_bits(x_bits[p.x_off + i]);
  var hi = 0u;
  if (i + 1u < p.n) { hi = f32_to_f16_bits(x_bits[p.x_off + i + 1u]); }
  packed_out[p.p_off + w] = lo | (hi << 16u);
}

@compute @workgroup_size(WG)
fn unpack_fp16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = linear_index(gid, nwg);
  let i = 2u * w;
  if (i >= p.n) { return; }
  let word = packed_in[p.p_off + w];
  x_out_bits[p.x_off + i] = f16_to_f32_bits(word & 0xffffu);
  if (i + 1u < p.n) { x_out_bits[p.x_off + i + 1u] = f16_to_f32_bits(word >> 16u); }
}

// ---- bf16 -----------------------------------------------------------------------------------------

// The top 16 bits of an f32, round to nearest even (overflow → ±Inf as IEEE rounding gives);
// NaN → quiet NaN with its sign, since rounding could otherwise turn a NaN payload into Inf.
fn f32_to_bf16_bits(b: u32) -> u32 {
  if ((b & 0x7fffffffu) > 0x7f800000u) { return (b >> 16u) | 0x40u; }
  return (b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u;
}

@compute @workgroup_size(WG)
fn pack_bf16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = linear_index(gid, nwg);
  let i = 2u * w;
  if (i >= p.n) { return; }
  let lo = f32_to_bf16_bits(x_bits[p.x_off + i]);
  var hi = 0u;
  if (i + 1u < p.n) { hi = f32_to_bf16_bits(x_bits[p.x_off + i + 1u]); }
  packed_out[p.p_off + w] = lo | (hi << 16u);
}

@compute @workgroup_size(WG)
fn unpack_bf16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = linear_index(gid, nwg);
  let i = 2u * w;
  if (i >= p.n) { return; }
  let word = packed_in[p.p_off + w];
  x_out_bits[p.x_off + i] = word << 16u;
  if (i + 1u < p.n) { x_out_bits[p.x_off + i + 1u] = word & 0xffff0000u; }
}

// ---- int8 with per-block scales ---------------------------------------------------------------------

// One workgroup per block: a max-|x| reduction, then each thread quantizes whole words (4 elements,
// 16 contiguous bytes per thread, so a wave reads one contiguous range). scale = absmax / 127,
// q = round_half_even(x / scale) clamped to [−127, 127]; an all-zero block has scale 0 and q = 0.
// Finite inputs only: a NaN or Inf makes its block's scale meaningless.
var<workgroup> block_max: array<f32, 256>;

fn block_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

@compute @workgroup_size(WG)
fn pack_int8_blocks(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let block = block_index(wid, nwg);
  let blocks = (p.n + p.block - 1u) / p.block;
  if (block >= blocks) { return; } // uniform across the workgroup
  let start = block * p.block;
  let len = min(p.block, p.n - start);
  let words = (len + 3u) / 4u;
  let x_base = p.x_off + start;

  var m = 0.0;
  for (var w = lid; w < words; w += WG) {
    for (var j = 0u; j < 4u; j++) {
      let e = 4u * w + j;
      if (e < len) { m = max(m, abs(x_in[x_base + e])); }
    }
  }
  block_max[lid] = m;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { block_max[lid] = max(block_max[lid], block_max[lid + stride]); }
    workgroupBarrier();
  }
  let absmax = block_max[0];
  let scale = absmax / 127.0;
  if (lid == 0u) { packed_out[p.p_off + block] = bitcast<u32>(scale); }

  let q_base = p.p_off + blocks + start / 4u;
  for (var w = lid; w < words; w += WG) {
    var word = 0u;
    for (var j = 0u; j < 4u; j++) {
      let e = 4u * w + j;
      if (e < len && scale > 0.0) {
        let q = i32(clamp(round(x_in[x_base + e] / scale), -127.0, 127.0));
        word |= (bitcast<u32>(q) & 0xffu) << (8u * j);
      }
    }
    packed_out[q_base + w] = word;
  }
}

// One thread per int8 word: x = q · scale of its block.
@compute @workgroup_size(WG)
fn unpack_int8_blocks(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = linear_index(gid, nwg);
  let i = 4u * w;
  if (i >= p.n) { return; }
  let blocks = (p.n + p.block - 1u) / p.block;
  let scale = bitcast<f32>(packed_in[p.p_off + i / p.block]);
  let word = bitcast<i32>(packed_in[p.p_off + blocks + w]);
  for (var j = 0u; j < 4u; j++) {
    if (i + j < p.n) { x_out[p.x_off + i + j] = f32(extractBits(word, 8u * j, 8u)) * scale; }
  }
}
