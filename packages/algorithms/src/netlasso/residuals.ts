// The global stopping statistics of Network Lasso ADMM (ALGORITHMS.md §4) from the per-node sums:
// production code (the engine and the graph parts) and the float64 reference (reference.ts) use this one.

export interface GlobalResiduals {
  primal: number;
  dual: number;
  epsPrimal: number;
  epsDual: number;
}

/** Residuals and their thresholds from the five summed node statistics (see globalResiduals in reference.ts). */
export function residualsFromSums(sums: ArrayLike<number>, nodes: number, d: number, edges: number, rho: number, epsAbs: number, epsRel: number): GlobalResiduals {
  return {
    primal: Math.sqrt(sums[0]),
    dual: rho * Math.sqrt(sums[1]),
    epsPrimal: Math.sqrt(2 * edges * d) * epsAbs + epsRel * Math.max(Math.sqrt(sums[2]), Math.sqrt(sums[3])),
    epsDual: Math.sqrt(nodes * d) * epsAbs + epsRel * rho * Math.sqrt(sums[4]),
  };
}
