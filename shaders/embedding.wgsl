// Token + learned position embedding (GPT): tokens are [batch × seq] u32 ids, row-major, and
//   out[t, :] = wte[token[t], :] + wpe[t mod seq, :]        (wte: [vocab × cols], wpe: [seq × cols])
//
// Backward without float atomics, same bits on every run:
//   dwpe[p, c] = Σ_b dout[b·seq + p, c]: one invocation per (p, c), summing b in order.
//   dwte[v, c] = Σ_{t : token[t] = v} dout[t, c]: row owners. Workgroup (column block, v) owns WG
//     columns of vocabulary row v; it stages the token list through workgroup memory WG ids at a
//     time and each invocation adds the dout rows whose token is v, in increasing t. Every t's dout
//     row is read only by the workgroups of its own token, so gradient traffic is N·cols words as
//     for a gather; the price is that every workgroup scans all N ids: vocab·⌈cols/WG⌉·N
//     workgroup-memory comparisons (broadcast reads, no divergence: the id is uniform in the group).
//     Cheap for byte/char vocabularies (V ≤ 512); a BPE vocabulary of 50k wants a sort of the
//     token ids and a segmented sum instead.
// A token ≥ vocab is a data bug: its forward row is NaN (impossible to miss) and it adds nothing.
// ACCUMULATE adds into the gradient buffer (the tied output head's dwte lands there too) instead
// of overwriting, as matmul's accumulate.

override WG: u32 = 256;
override ACCUMULATE: bool = false;

struct Embed {
  n: u32,        // tokens (batch · seq)
  cols: u32,
  seq: u32,      // positions: rows of wpe
  vocab: u32,    // rows of wte
  tok_off: u32,
  wte_off: u32,  // forward: wte in params; backward: dwte in grads
  wpe_off: u32,  // forward: wpe in params; backward: dwpe in grads
  out_off: u32,  // forward: out; backward: dout
}

@group(0) @binding(0) var<uniform> p: Embed;

// Forward: 1 tokens, 2 params (wte, wpe), 3 out. Token-row backward: 1 tokens, 2 dout, 3 grads.
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> grads: array<f32>;
// Position backward: 1 dout, 2 grads.
@group(0) @binding(1) var<storage, read> dout_p: array<f32>;
@group(0) @binding(2) var<storage, read_write> grads_p: array<f32>;

var<workgroup> tile: array<u32, WG>;

fn nan_for(token: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (token & 0x3fffffu));
}

@compute @workgroup_size(WG)
fn embedding_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n * p.cols) { return; }
  let t = i / p.cols;
  let c = i - t * p.cols;
  let token = tokens[p.tok_off + t];
  let pos = t % p.seq;
  var v = nan_for(token);
  if (token < p.vocab) { v = params[p.wte_off + token * p.cols + c] + params[p.wpe_off + pos * p.cols + c]; }
  out[p.out_off + i] = v;
}

// Grid: (⌈cols/WG⌉, vocab); workgroup (bx, v) owns columns bx·WG .. of vocabulary row v.
@compute @workgroup_size(WG)
fn embedding_backward_tokens(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let v = wid.y;
  let c = wid.x * WG + lid;
  let valid = c < p.cols;
  var acc = 0.0;
  for (var chunk = 0u; chunk < p.n; chunk += WG) {
    let t = chunk + lid;
    tile[lid] = select(0xffffffffu, tokens[p.tok_off + min(t, p.n - 1u)], t < p.n);
    workgroupBarrier();
    let count = min(WG, p.n - chunk);
    for (var j = 0u; j < count; j++) {
      if (tile[j] == v && valid) { acc += dout[p.out_off + (chunk + j) * p.cols + c]; }
    }
    workgroupBarrier(); // everyone is done with this tile before the next overwrites it
  }
  if (!valid) { return; }
  let o = p.wte_off + v * p.cols + c;
  if (ACCUMULATE) { grads[o] += acc; } else { grads[o] = acc; }
}

@compute @workgroup_size(WG)
fn embedding_backward_positions(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.seq * p.cols) { return; }
  let stride = p.seq * p.cols; // one sequence of dout
  var acc = 0.0;
  for (var k = i; k < p.n * p.cols; k += stride) { acc += dout_p[p.out_off + k]; }
  let o = p.wpe_off + i;
  if (ACCUMULATE) { grads_p[o] += acc; } else { grads_p[o] = acc; }
}
