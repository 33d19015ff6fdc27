// What every data-parallel algorithm of this package (D-SGD and its baselines, CO2 / SlowMo / Local
// SGD) is given and reports: the worker's context, its events and its result. Shared here so that
// no algorithm reaches into another's module for them.
import type { Gpu } from '@gossamer/gpu';
import type { BatchSource, EvalSet, Replica } from '@gossamer/model';
import type { Transport } from '@gossamer/transport';
import type { ViewEvent } from '../elastic.js';
import type { CheckpointHook, ResumePoint } from '../resume.js';
import type { StoppedEvent } from '../boundary.js';

export interface WorkerContext {
  gpu: Gpu;
  transport: Transport;
  replica: Replica;
  batches: BatchSource;
  evalSet?: EvalSet;
  /**
   * Worker ids by index: the topology's node numbering and the all-reduce order. In a view
   * (contextInView) the members in the run's order; otherwise the run's initial workers.
   */
  ids: readonly string[];
  /** This worker's index in `ids`; a joiner that grew the run past its size is not in the initial ones (index ≥ ids.length). */
  index: number;
  /** The membership view `ids` are the members of: communication fails with ViewChangedError when it changes. */
  viewEpoch?: number;
  /** That view's first round (MembershipView.startRound). */
  viewStartRound?: number;
  emit?: (event: AlgorithmEvent) => void;
  signal?: AbortSignal;
  /** Resuming a run: the round to start at and the algorithm's saved state (replica and batcher are restored). */
  resume?: ResumePoint;
  /**
   * Checkpoints of the run, at round boundaries: periodic ones, and a final one when `signal` stops
   * the run (the members agree on the round; boundary.ts).
   */
  checkpoint?: CheckpointHook;
}

export interface RoundEvent {
  type: 'round';
  worker: string;
  round: number;
  step: number;
  /** Mean training loss of the round's local steps. */
  loss: number;
  /** Test accuracy / loss of the local model, on evaluation rounds. */
  accuracy?: number;
  testLoss?: number;
  /** Ξ² = (1/n) Σ ‖x_i − x̄‖², on measurement rounds. */
  consensusDistance?: number;
  communication: 'none' | 'mix' | 'average';
  bytesSent: number;
  bytesReceived: number;
  computeMs: number;
  commMs: number;
}

export interface MergedEvent {
  type: 'merged';
  worker: string;
  round: number;
  method: string;
  accuracy?: number;
  testLoss?: number;
  /** Ξ² after the merge (0 for an exact merge, up to float rounding). */
  consensusDistance?: number;
  commMs: number;
  /** The members merged over, when they are not the run's initial workers. */
  members?: readonly string[];
}

export type AlgorithmEvent = RoundEvent | MergedEvent | ViewEvent | StoppedEvent;

/** What a worker's loop returns (D-SGD, the baselines, the periodic-averaging family). */
export interface WorkerResult {
  /** Test accuracy of the local model before the merge. */
  localAccuracy?: number;
  /** Test accuracy after the final merge (when there is one). */
  mergedAccuracy?: number;
}
