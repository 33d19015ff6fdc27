// Gossip mixing: x ← w_self·x + Σ_k w_k·r_k over K received vectors, one dispatch, one invocation
// per element. The received vectors sit stacked in one staging buffer (row k at r_off + k·r_stride),
// as they arrive from the network; the K + 1 weights sit in a small storage buffer
// [w_self, w_1, ..., w_K] (a uniform struct cannot hold 65+ weights in a 256-byte param slot).
// Each thread reads K + 1 coalesced rows and writes one: bandwidth-bound, as it should be.
//
// Push-sum (SGP) needs no kernel of its own: its state is the vector with the push-sum weight stored
// as one extra element, [x_0 .. x_{n-1}, w], and mixing that (n + 1)-vector applies the same
// coefficients to x and w. push_sum_debias then gives z = x / w.

override WG: u32 = 256;

struct Mix {
  n: u32,
  k: u32,        // number of received vectors
  x_off: u32,
  out_off: u32,  // mix_into only
  r_off: u32,
  r_stride: u32, // elements between consecutive received vectors (≥ n)
  w_off: u32,
}

struct Debias {
  n: u32,        // length of x, without the weight element
  s_off: u32,    // push-sum state [x, w] starts here; w at s_off + n
  out_off: u32,
}

@group(0) @binding(0) var<uniform> p: Mix;
@group(0) @binding(0) var<uniform> dp: Debias;

// mix_in_place: 1 x (read_write), 2 received, 3 weights.
// mix_into:     1 x (read),       2 received, 3 weights, 4 out (read_write).
// push_sum_debias: 1 state (read), 2 out (read_write).
@group(0) @binding(1) var<storage, read_write> x_io: array<f32>;
@group(0) @binding(1) var<storage, read> x_in: array<f32>;
@group(0) @binding(2) var<storage, read> received: array<f32>;
@group(0) @binding(2) var<storage, read_write> debiased: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> mixed: array<f32>;

fn linear_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Σ_k w_k·r_k[i] added to w_self·xi, in index order k = 1..K (a fixed order, so every replica that
// mixes the same inputs gets the same bits).
fn mix_one(i: u32, xi: f32) -> f32 {
  var acc = weights[p.w_off] * xi;
  var row = p.r_off + i;
  for (var k = 0u; k < p.k; k++) {
    acc = fma(weights[p.w_off + 1u + k], received[row], acc);
    row += p.r_stride;
  }
  return acc;
}

@compute @workgroup_size(WG)
fn mix_in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  x_io[p.x_off + i] = mix_one(i, x_io[p.x_off + i]);
}

@compute @workgroup_size(WG)
fn mix_into(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= p.n) { return; }
  mixed[p.out_off + i] = mix_one(i, x_in[p.x_off + i]);
}

// z[i] = x[i] / w: the de-biased push-sum estimate.
@compute @workgroup_size(WG)
fn push_sum_debias(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_index(gid, nwg);
  if (i >= dp.n) { return; }
  debiased[dp.out_off + i] = x_in[dp.s_off + i] / x_in[dp.s_off + dp.n];
}
