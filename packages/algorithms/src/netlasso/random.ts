// Seeded normal draws shared by the generators and the reproductions' traffic simulation
// (@gossamer/experiments): one normal sampler for both.
import { boxMuller, type Rng } from '@gossamer/topology';

/** Standard normal draws from a seeded stream (topology's Box–Muller; u kept off 0 so log u is finite). */
export function gaussian(rng: Rng): () => number {
  return boxMuller(() => Math.max(rng.float(), 1e-300), () => rng.float());
}
