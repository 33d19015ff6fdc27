// Float64 reference of shaders/attention.wgsl: causal multi-head self-attention over a fused
// [B·T, 3C] QKV matrix (per token q | k | v, head h at columns h·D .. h·D + D − 1 of each), with
// the explicit T×T probabilities, for tests and as a CPU fallback.
type Vec = ArrayLike<number>;

export interface AttentionShape {
  batch: number;
  seqLen: number;
  heads: number;
  headDim: number;
}

export interface AttentionForward {
  /** [B·T, C], heads concatenated. */
  y: Float64Array;
  /** [B·H·T] logsumexp of each row's scaled, masked scores. */
  lse: Float64Array;
}

export interface AttentionBackward {
  /** [B·T, 3C], laid out as qkv. */
  dqkv: Float64Array;
  /** [B·H·T] rowsum(dy ∘ y). */
  delta: Float64Array;
}

function dims(s: AttentionShape) {
  const c = s.heads * s.headDim;
  return { c, stride: 3 * c, scale: 1 / Math.sqrt(s.headDim) };
}

/** Element index of (token row, part 0/1/2 = q/k/v, head, column) in qkv. */
export function qkvIndex(s: AttentionShape, row: number, part: number, head: number, col: number): number {
  const c = s.heads * s.headDim;
  return row * 3 * c + part * c + head * s.headDim + col;
}

/**
 * P[i][j] = softmax_j(scale·q_i·k_j) over j ≤ i for one (batch item, head), as T rows of T
 * (zeros above the diagonal), and each row's logsumexp.
 */
export function attentionProbabilities(qkv: Vec, s: AttentionShape, b: number, h: number): { p: Float64Array[]; lse: Float64Array } {
  const { scale } = dims(s);
  const T = s.seqLen;
  const D = s.headDim;
  const p: Float64Array[] = [];
  const lse = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    const row = new Float64Array(T);
    const qi = qkvIndex(s, b * T + i, 0, h, 0);
    let m = -Infinity;
    for (let j = 0; j <= i; j++) {
      const kj = qkvIndex(s, b * T + j, 1, h, 0);
      let dot = 0;
      for (let c = 0; c < D; c++) dot += qkv[qi + c] * qkv[kj + c];
      row[j] = dot * scale;
      m = Math.max(m, row[j]);
    }
    let sum = 0;
    for (let j = 0; j <= i; j++) {
      row[j] = Math.exp(row[j] - m);
      sum += row[j];
    }
    for (let j = 0; j <= i; j++) row[j] /= sum;
    lse[i] = m + Math.log(sum);
    p.push(row);
  }
  return { p, lse };
}

/** y = softmax(q·kᵀ/√D, causal)·v per head, and the per-row logsumexp. */
export function attentionForward(qkv: Vec, s: AttentionShape): AttentionForward {
  const { c } = dims(s);
  const T = s.seqLen;
  const D = s.headDim;
  const y = new Float64Array(s.batch * T * c);
  const lse = new Float64Array(s.batch * s.heads * T);
  for (let b = 0; b < s.batch; b++) {
    for (let h = 0; h < s.heads; h++) {
      const { p, lse: l } = attentionProbabilities(qkv, s, b, h);
      lse.set(l, (b * s.heads + h) * T);
      for (let i = 0; i < T; i++) {
        const yi = (b * T + i) * c + h * D;
        for (let j = 0; j <= i; j++) {
          const vj = qkvIndex(s, b * T + j, 2, h, 0);
          for (let d = 0; d < D; d++) y[yi + d] += p[i][j] * qkv[vj + d];
        }
      }
    }
  }
  return { y, lse };
}

/**
 * The gradient with respect to qkv of Σ dy ∘ y: dv = Pᵀ·dy, dP = dy·vᵀ, dS = P ∘ (dP − rowsum(P ∘ dP)),
 * dq = scale·dS·k, dk = scale·dSᵀ·q. Computed from qkv alone (P recomputed in float64).
 */
export function attentionBackward(qkv: Vec, dy: Vec, s: AttentionShape): AttentionBackward {
  const { c, scale } = dims(s);
  const T = s.seqLen;
  const D = s.headDim;
  const dqkv = new Float64Array(s.batch * T * 3 * c);
  const delta = new Float64Array(s.batch * s.heads * T);
  for (let b = 0; b < s.batch; b++) {
    for (let h = 0; h < s.heads; h++) {
      const { p } = attentionProbabilities(qkv, s, b, h);
      for (let i = 0; i < T; i++) {
        const dyi = (b * T + i) * c + h * D;
        const dp = new Float64Array(i + 1);
        let rowDelta = 0;
        for (let j = 0; j <= i; j++) {
          const vj = qkvIndex(s, b * T + j, 2, h, 0);
          for (let d = 0; d < D; d++) dp[j] += dy[dyi + d] * qkv[vj + d];
          rowDelta += p[i][j] * dp[j];
        }
        delta[(b * s.heads + h) * T + i] = rowDelta;
        const qi = qkvIndex(s, b * T + i, 0, h, 0);
        for (let j = 0; j <= i; j++) {
          const ds = p[i][j] * (dp[j] - rowDelta);
          const kj = qkvIndex(s, b * T + j, 1, h, 0);
          const vj = kj + c;
          for (let d = 0; d < D; d++) {
            dqkv[qi + d] += scale * ds * qkv[kj + d];
            dqkv[kj + d] += scale * ds * qkv[qi + d];
            dqkv[vj + d] += p[i][j] * dy[dyi + d];
          }
        }
      }
    }
  }
  return { dqkv, delta };
}
