// Seeded normal draws shared by the generators and the traffic simulation (not exported from the package).
import type { Rng } from '@gossamer/topology';

/** Standard normal draws from a seeded stream (Box–Muller). */
export function gaussian(rng: Rng): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = Math.max(rng.float(), 1e-300);
    const v = rng.float();
    const m = Math.sqrt(-2 * Math.log(u));
    spare = m * Math.sin(2 * Math.PI * v);
    return m * Math.cos(2 * Math.PI * v);
  };
}
