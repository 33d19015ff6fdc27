// Float64 references of shaders/embedding.wgsl (token + learned position embedding).
type Vec = ArrayLike<number>;

/** out[t] = wte[token[t]] + wpe[t mod seq]; a token ≥ vocab gives a NaN row. */
export function embeddingForward(tokens: Vec, wte: Vec, wpe: Vec, cols: number, seq: number): Float64Array {
  const vocab = wte.length / cols;
  const out = new Float64Array(tokens.length * cols);
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t];
    const pos = t % seq;
    for (let c = 0; c < cols; c++) {
      out[t * cols + c] = tok < vocab ? wte[tok * cols + c] + wpe[pos * cols + c] : NaN;
    }
  }
  return out;
}

/** dwte[v] = Σ_{token[t] = v} dout[t] (tokens ≥ vocab add nothing), dwpe[p] = Σ_b dout[b·seq + p]. */
export function embeddingBackward(
  tokens: Vec,
  dout: Vec,
  vocab: number,
  cols: number,
  seq: number,
): { dwte: Float64Array; dwpe: Float64Array } {
  const dwte = new Float64Array(vocab * cols);
  const dwpe = new Float64Array(seq * cols);
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t];
    const pos = t % seq;
    for (let c = 0; c < cols; c++) {
      if (tok < vocab) dwte[tok * cols + c] += dout[t * cols + c];
      dwpe[pos * cols + c] += dout[t * cols + c];
    }
  }
  return { dwte, dwpe };
}
