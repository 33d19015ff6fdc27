// The λ path a run solves, and the diameter bound of the decentralized stopping rule.
import { bfsDistances, connectedComponents, type Graph } from '@gossamer/topology';

/** λ = 0 (optional), then start·factor^k for k = 0 .. count − 1. */
export function lambdaPath(o: { start: number; factor: number; count: number; includeZero?: boolean }): number[] {
  const out = o.includeZero === false ? [] : [0];
  for (let k = 0; k < o.count; k++) out.push(o.start * o.factor ** k);
  return out;
}

/**
 * The diameter bound D of the stopping rule: the exact hop diameter (largest over components) for
 * graphs up to 2 000 nodes, else twice a double-sweep eccentricity per component (a valid upper bound).
 */
export function stoppingDiameter(g: Graph): number {
  const comps = connectedComponents(g);
  let best = 0;
  if (g.n <= 2000) {
    for (let s = 0; s < g.n; s++) {
      const dist = bfsDistances(g, s);
      for (let i = 0; i < g.n; i++) best = Math.max(best, dist[i]);
    }
    return best;
  }
  const seen = new Set<number>();
  for (let s = 0; s < g.n; s++) {
    if (seen.has(comps.label[s])) continue;
    seen.add(comps.label[s]);
    let far = s;
    let ecc = 0;
    for (let sweep = 0; sweep < 2; sweep++) {
      const dist = bfsDistances(g, far);
      ecc = 0;
      for (let i = 0; i < g.n; i++) {
        if (dist[i] > ecc) {
          ecc = dist[i];
          far = i;
        }
      }
    }
    best = Math.max(best, 2 * ecc);
  }
  return best;
}
