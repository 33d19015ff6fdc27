// Synthetic metrics in the shape the distributed algorithms will emit: per-worker `round` events and
// run-level `merged` events. Deterministic, so tests can check exact series and points.

export interface RoundEvent {
  type: 'round';
  worker: string;
  round: number;
  loss: number;
  accuracy: number;
  consensusDistance: number;
  bytesSent: number;
  bytesReceived: number;
  computeMs: number;
  commMs: number;
}

export interface MergedEvent {
  type: 'merged';
  round: number;
  accuracy: number;
}

export const WORKERS = ['w0', 'w1', 'w2'] as const;
export const ROUNDS = 6;

/** Start events, then per round: one `round` event per worker and one `merged` event; then done events. */
export function multiWorkerEvents(): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = WORKERS.map((worker) => ({ type: 'start', worker, model: 'mlp-16', parameters: 340 }));
  for (let round = 1; round <= ROUNDS; round++) {
    WORKERS.forEach((worker, i) => {
      const e: RoundEvent = {
        type: 'round',
        worker,
        round,
        loss: 1.5 / round + 0.01 * i,
        accuracy: 0.5 + 0.07 * round - 0.01 * i,
        // Shrinks by 10x a round: spans five decades, so it gets a log axis.
        consensusDistance: 10 ** (1 - round),
        bytesSent: 4096 * round,
        bytesReceived: 4096 * round,
        computeMs: 12 + i,
        commMs: 3 + i,
      };
      events.push({ ...e });
    });
    const merged: MergedEvent = { type: 'merged', round, accuracy: 0.52 + 0.07 * round };
    events.push({ ...merged });
  }
  for (const worker of WORKERS) events.push({ type: 'done', worker, steps: 60, epochs: 2, testLoss: 0.3, testAccuracy: 0.9, elapsedMs: 4000, samplesPerSecond: 800 });
  return events;
}

export function toJsonLines(events: readonly Record<string, unknown>[]): string {
  return events.map((e) => `${JSON.stringify(e)}\n`).join('');
}
