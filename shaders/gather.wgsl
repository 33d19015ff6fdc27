// Row gather: dst[r, :] = src[indices[r], :] for r < count.
// It moves 32-bit words, so one entry point serves f32 features and u32 labels alike, bit-exact
// (NaN payloads and -0 included). Threads run along the flattened [count × row_length] destination:
// neighbouring threads read neighbouring words of one source row and write neighbouring words of
// the destination, so both sides are coalesced. 1-D grids are folded into 2-D dispatches
// (x ≤ 65535 workgroups), as in elementwise.wgsl.
//
// gather_shifted_images is the same gather with a translation per row: data augmentation done where
// the batch is assembled, so it costs no extra dispatch, buffer or pass over the data.

override WG: u32 = 256;

struct Gather {
  n: u32,          // count * row_length: destination words to write
  row_length: u32, // words per row
  src_off: u32,    // word offset of row 0 in src
  src_rows: u32,   // rows in the source range; an index >= src_rows writes zeros
  idx_off: u32,    // element offset of the first index
  dst_off: u32,    // word offset of row 0 in dst
  // gather_shifted_images only: rows are images [height × width × channels] (HWC, as conv.wgsl).
  channels: u32,
  height: u32,
  width: u32,
  shift_off: u32,  // element offset in `indices` of the per-row packed shifts
}

@group(0) @binding(0) var<uniform> g: Gather;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;

// Word `offset` of source row indices[r]. A bad index must not read another tensor that shares the
// buffer: it reads zero instead.
fn source_word(r: u32, offset: u32) -> u32 {
  let row = indices[g.idx_off + r];
  if (row >= g.src_rows) { return 0u; }
  return src[g.src_off + row * g.row_length + offset];
}

@compute @workgroup_size(WG)
fn gather_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= g.n) { return; }
  let r = i / g.row_length;
  dst[g.dst_off + i] = source_word(r, i - r * g.row_length);
}

// dst image r = src image indices[r] translated by (dx, dy) pixels: dst[y, x, c] = src[y − dy, x − dx, c],
// where coordinates outside the image are clamped to its edge (the border repeats, so the uncovered
// strip gets the background whatever the normalisation). Shift word r packs dx + 32768 in its low
// and dy + 32768 in its high 16 bits.
@compute @workgroup_size(WG)
fn gather_shifted_images(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= g.n) { return; }
  let r = i / g.row_length;
  let k = i - r * g.row_length;
  let pixel = k / g.channels;
  let c = k - pixel * g.channels;
  let y = pixel / g.width;
  let x = pixel - y * g.width;
  let shift = indices[g.shift_off + r];
  let dx = i32(shift & 0xffffu) - 32768;
  let dy = i32(shift >> 16u) - 32768;
  let sx = u32(clamp(i32(x) - dx, 0, i32(g.width) - 1));
  let sy = u32(clamp(i32(y) - dy, 0, i32(g.height) - 1));
  dst[g.dst_off + i] = source_word(r, (sy * g.width + sx) * g.channels + c);
}
