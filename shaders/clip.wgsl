// Gradient clipping on float32 ranges of flat buffers.
// Clip by norm never reads back: a reduction (shaders/reduce.wgsl) leaves the norm in a buffer and
// the scale kernels here read it, so the whole clip is a few dispatches inside one step.

override WG: u32 = 256;

struct Clamp {
  n: u32,
  x_off: u32,
  limit: f32,
}

struct ScaleByNorm {
  n: u32,          // elements (scale_by_norm) or table blocks (scale_segments_by_norm)
  x_off: u32,
  norm_off: u32,
  norm_stride: u32, // segments: 0 = one global norm, 1 = one norm per segment
  max_norm: f32,
}

@group(0) @binding(0) var<uniform> c: Clamp;
@group(0) @binding(0) var<uniform> s: ScaleByNorm;

@group(0) @binding(1) var<storage, read_write> x_only: array<f32>;
@group(0) @binding(1) var<storage, read> norms: array<f32>;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read_write> x2: array<f32>;
@group(0) @binding(2) var<storage, read> seg_norms: array<f32>;
@group(0) @binding(3) var<storage, read_write> x3: array<f32>;

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// x ← clamp(x, −limit, limit), in place.
@compute @workgroup_size(WG)
fn clamp_values(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i < c.n) { x_only[c.x_off + i] = clamp(x_only[c.x_off + i], -c.limit, c.limit); }
}

// min(1, max_norm / norm), without dividing by a zero norm. A NaN norm gives 1: the NaN is already
// in the values and stays visible instead of being scaled into something else.
fn clip_factor(norm: f32, max_norm: f32) -> f32 {
  return select(1.0, max_norm / norm, norm > max_norm);
}

// x ← x · min(1, max_norm / norms[norm_off]).
@compute @workgroup_size(WG)
fn scale_by_norm(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  let f = clip_factor(norms[s.norm_off], s.max_norm);
  // Below the threshold (the usual case) skip the writes: half the memory traffic.
  if (i < s.n && f < 1.0) { x2[s.x_off + i] = f * x2[s.x_off + i]; }
}

// The same per block of a segment table (see src/reduce.ts), one workgroup per block:
// x ← x · min(1, max_norm / norm of the block's segment, or of all segments).
@compute @workgroup_size(WG)
fn scale_segments_by_norm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = wid.x + wid.y * nwg.x;
  if (b >= s.n) { return; }
  let seg = table[3u * b];
  let f = clip_factor(seg_norms[s.norm_off + seg * s.norm_stride], s.max_norm);
  if (f >= 1.0) { return; }
  let start = s.x_off + table[3u * b + 1u];
  let len = table[3u * b + 2u];
  for (var i = lid; i < len; i += WG) { x3[start + i] = f * x3[start + i]; }
}
