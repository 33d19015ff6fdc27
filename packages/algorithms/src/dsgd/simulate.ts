// The in-process simulator: n workers in one process, each with its own replica on a shared device,
// talking through an InProcessNetwork. The algorithm code is the same as over NATS; only the
// Transport differs.
import { createInProcessNetwork, type InProcessNetworkOptions, type Transport } from '@gossamer/transport';

/** Worker ids w0 … w(n−1), by index. */
export function workerIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `w${i}`);
}

/**
 * Runs `body` for every worker concurrently over one in-process network and returns the results by
 * index. Rejects with the first failure after every worker has settled.
 */
export async function simulateWorkers<R>(
  ids: readonly string[],
  body: (transport: Transport, index: number) => Promise<R>,
  options: InProcessNetworkOptions = {},
): Promise<R[]> {
  const network = createInProcessNetwork(ids, options);
  try {
    const settled = await Promise.allSettled(ids.map((id, i) => body(network.transport(id), i)));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
  } finally {
    await network.close();
  }
}
