// Reductions over float32 ranges of flat buffers: sum, sum of squares and dot of a whole range;
// sums of squares per segment (per-tensor norms); argmax per row; counting equal u32 entries.
//
// Every reduction is a tree in workgroup memory. Scalars use two stages: stage 1 runs many
// workgroups, each folding a grid-strided chunk into one partial; stage 2 is the same entry point
// run as one workgroup over the partials (OP = sum). When the input fits one workgroup, stage 1
// writes the final value directly. Results stay on the GPU; callers read back only when they want.

override WG: u32 = 256;     // threads per workgroup; a power of two (the tree halves it)
override OP: u32 = 0u;      // reduce_x: 0 = sum, 1 = sum of squares
override ROOT: bool = false; // finished value is sqrt(scale · total) (a norm) instead of scale · total

// Scalar reductions, and count_equal.
struct Reduce {
  n: u32,          // elements (stage 1) or partials (stage 2)
  x_off: u32,
  y_off: u32,
  out_off: u32,
  scale: f32,      // finished value = scale · total (1/n gives a mean)
  finalize: u32,   // 1: write the finished value; 0: write the raw partial at out_off + workgroup
  accumulate: u32, // 1: add the finished value to what the output holds (loss accumulated over steps)
}

// Segmented sums of squares driven by a table (see SegmentTable in src/reduce.ts):
//   words [0, 3·blocks): per block (segment, start, length), blocks of one segment contiguous
//   words [seg_base, seg_base + 2·segments): per segment (first block, block count)
struct Segmented {
  count: u32,      // blocks (stage 1) or segments (stage 2)
  x_off: u32,      // added to every start: one table serves parameters and gradients alike
  seg_base: u32,
  out_off: u32,
  scale: f32,
  finalize: u32,   // stage 1 only: 1 when every segment is one block, so stage 1 finishes
  accumulate: u32,
}

struct Rows {
  rows: u32,
  cols: u32,
  x_off: u32,
  out_off: u32,
}

@group(0) @binding(0) var<uniform> r: Reduce;
@group(0) @binding(0) var<uniform> sg: Segmented;
@group(0) @binding(0) var<uniform> rw: Rows;

// Bindings differ per entry point; WGSL allows several variables at one binding as long as no entry
// point uses two of them.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(1) var<storage, read> lhs_u32: array<u32>;
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;
@group(0) @binding(2) var<storage, read_write> index_out: array<u32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> rhs_u32: array<u32>;
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;

var<workgroup> wsum: array<f32, WG>;
var<workgroup> wval: array<f32, WG>;
var<workgroup> widx: array<u32, WG>;

// Sum of `v` over the workgroup, the same (uniform) value in every invocation. Pairwise, so the
// rounding error grows with log2(WG), not WG.
fn workgroup_sum(lid: u32, v: f32) -> f32 {
  wsum[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { wsum[lid] += wsum[lid + s]; }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&wsum[0]);
}

fn finished(total: f32, scale: f32, old: f32, accumulate: u32) -> f32 {
  var v = scale * total;
  if (ROOT) { v = sqrt(v); }
  if (accumulate != 0u) { v += old; }
  return v;
}

// x (+ y) range → one value per workgroup (partial), or the finished value when finalize = 1.
@compute @workgroup_size(WG)
fn reduce_x(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let stride = nwg.x * WG;
  var acc = 0.0;
  for (var i = wid.x * WG + lid; i < r.n; i += stride) {
    let v = x[r.x_off + i];
    if (OP == 1u) { acc = fma(v, v, acc); } else { acc += v; }
  }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) {
    let o = r.out_off + wid.x;
    if (r.finalize != 0u) { out2[o] = finished(total, r.scale, out2[o], r.accumulate); } else { out2[o] = total; }
  }
}

@compute @workgroup_size(WG)
fn reduce_xy(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let stride = nwg.x * WG;
  var acc = 0.0;
  for (var i = wid.x * WG + lid; i < r.n; i += stride) {
    acc = fma(x[r.x_off + i], y[r.y_off + i], acc);
  }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) {
    let o = r.out_off + wid.x;
    if (r.finalize != 0u) { out3[o] = finished(total, r.scale, out3[o], r.accumulate); } else { out3[o] = total; }
  }
}

// Stage 1 of segmented sums of squares: one workgroup per block (2-D grid for many blocks). Blocks
// are a few thousand elements, so one huge tensor spreads over many workgroups and the GPU stays
// balanced however unequal the segments are.
@group(0) @binding(2) var<storage, read> seg_x: array<f32>;

@compute @workgroup_size(WG)
fn segment_sumsq_blocks(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = wid.x + wid.y * nwg.x;
  if (b >= sg.count) { return; }
  let seg = table[3u * b];
  let start = sg.x_off + table[3u * b + 1u];
  let len = table[3u * b + 2u];
  var acc = 0.0;
  for (var i = lid; i < len; i += WG) {
    let v = seg_x[start + i];
    acc = fma(v, v, acc);
  }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) {
    if (sg.finalize != 0u) {
      let o = sg.out_off + seg;
      out3[o] = finished(total, sg.scale, out3[o], sg.accumulate);
    } else {
      out3[sg.out_off + b] = total;
    }
  }
}

// Stage 2: one workgroup per segment folds its (contiguous) block partials.
@group(0) @binding(2) var<storage, read> partials: array<f32>;

@compute @workgroup_size(WG)
fn segment_finish(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let s = wid.x + wid.y * nwg.x;
  if (s >= sg.count) { return; }
  let first = table[sg.seg_base + 2u * s];
  let blocks = table[sg.seg_base + 2u * s + 1u];
  var acc = 0.0;
  for (var i = lid; i < blocks; i += WG) { acc += partials[sg.x_off + first + i]; }
  let total = workgroup_sum(lid, acc);
  if (lid == 0u) {
    let o = sg.out_off + s;
    out3[o] = finished(total, sg.scale, out3[o], sg.accumulate);
  }
}

// Argmax per row of a [rows × cols] row-major matrix, one workgroup per row. Ties go to the lowest
// index; NaN counts as larger than any number (as in NumPy and PyTorch), so a diverged row points
// at its first NaN instead of at an arbitrary class.
const NO_INDEX: u32 = 0xffffffffu;

fn is_nan(v: f32) -> bool {
  // Bit test: `v != v` may be folded away by fast-math backends.
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// Does (va, ia) beat (vb, ib)?
fn beats(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
  if (ia == NO_INDEX) { return false; }
  if (ib == NO_INDEX) { return true; }
  let na = is_nan(va);
  let nb = is_nan(vb);
  if (na != nb) { return na; }
  if (na || va == vb) { return ia < ib; }
  return va > vb;
}

@compute @workgroup_size(WG)
fn argmax_rows(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= rw.rows) { return; }
  let base = rw.x_off + row * rw.cols;
  var best_v = 0.0;
  var best_i = NO_INDEX;
  for (var i = lid; i < rw.cols; i += WG) {
    let v = x[base + i];
    if (beats(v, i, best_v, best_i)) { best_v = v; best_i = i; }
  }
  wval[lid] = best_v;
  widx[lid] = best_i;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && beats(wval[lid + s], widx[lid + s], wval[lid], widx[lid])) {
      wval[lid] = wval[lid + s];
      widx[lid] = widx[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { index_out[rw.out_off + row] = widx[0]; }
}

// out = scale · #{i < n : lhs[x_off + i] == rhs[y_off + i]} (+ out when accumulating), in one
// workgroup: n is a batch of predictions, small next to the kernels that produced them. Counts are
// exact in f32 up to 2^24.
@compute @workgroup_size(WG)
fn count_equal(@builtin(local_invocation_index) lid: u32) {
  var hits = 0u;
  for (var i = lid; i < r.n; i += WG) {
    hits += select(0u, 1u, lhs_u32[r.x_off + i] == rhs_u32[r.y_off + i]);
  }
  let total = workgroup_sum(lid, f32(hits));
  if (lid == 0u) {
    let o = r.out_off;
    var v = r.scale * total;
    if (r.accumulate != 0u) { v += out3[o]; }
    out3[o] = v;
  }
}
