// Hosting workers in Node: the run's data loaded from its files (MNIST, CSV, generated), then the
// loop of host.ts; and the simulator, the whole run in one process over the in-process transport.
import { Gpu } from '@gossamer/gpu';
import { workerIds } from '@gossamer/algorithms';
import { createInProcessNetwork } from '@gossamer/transport';
import type { RunConfig } from './config.js';
import { bandwidthLimitOf } from './outer.js';
import { loadTrainTest, type TrainTest } from './datasets.js';
import { hostLoadedWorkers, type HostOptions, type HostedResult, type WorkerEvent } from './host.js';

export * from './host.js';
export { parseMerge, parseRobust, topologyFor } from './schema.js';

/** Runs the hosted workers of a distributed run to the end (loading the run's data unless given). */
export async function hostWorkers(config: RunConfig, options: HostOptions): Promise<HostedResult[]> {
  return hostLoadedWorkers(config, { ...options, data: options.data ?? (await loadTrainTest(config.dataset, config.seed)) });
}

/** The whole run in one process over the in-process transport: the simulator. */
export async function simulateRun(config: RunConfig, options: { gpu?: Gpu; emit?: (e: WorkerEvent) => void; data?: TrainTest } = {}): Promise<HostedResult[]> {
  const ids = workerIds(config.workers);
  const data = options.data ?? (await loadTrainTest(config.dataset, config.seed));
  const gpu = options.gpu ?? (await Gpu.create());
  const bandwidth = bandwidthLimitOf(config.bandwidthMbps);
  const network = createInProcessNetwork(ids, bandwidth ? { link: { bandwidth } } : {});
  try {
    return await hostWorkers(config, { indices: ids.map((_, i) => i), transportFor: async (id) => network.transport(id), gpu, emit: options.emit, data });
  } finally {
    await network.close();
    if (!options.gpu) gpu.destroy();
  }
}
