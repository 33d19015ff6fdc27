// What a worker's loop does at the top of every round (issue 14 items 4 and 5): the periodic
// checkpoint, and stopping when signalled (Ctrl-C, SIGTERM).
//
// A worker whose host keeps checkpoints does not stop at once when signalled: its checkpoint would
// be of a round its peers are not at, and a run cannot be resumed from such a set (the messages of
// the rounds in between are gone). So the members agree on one stop round and each saves its
// checkpoint there:
//   1. Signalled, a worker sends every other member of its view the first round it has not
//      started (c), once, and keeps training to the end of the round it is in.
//   2. At its next round boundary it waits for every member's c. The stop round is R = max c.
//      No member is past R: each waits at the first boundary after it sent its c (≤ R).
//   3. Every member trains on to round R (its peers do too, so no exchange waits for a stopped
//      one), saves its checkpoint for a resume at R and stops.
// A member that does not answer within the agreement timeout (it was not signalled, or it died)
// makes the worker stop at once without a final checkpoint; a resume then starts from the last
// periodic one.
import type { Transport } from '@gossamer/transport';
import { checkpointDue, type AlgorithmState, type CheckpointHook } from './resume.js';
import { TENSOR } from './common/tensors.js';

/** A worker stopped by its signal. */
export interface StoppedEvent {
  type: 'stopped';
  worker: string;
  /** The first round it did not run (the resume round of its final checkpoint, if it wrote one). */
  round: number;
  /** Whether it saved a final checkpoint for a resume at `round`. */
  checkpoint: boolean;
  /** Why it stopped without one. */
  detail?: string;
}

export interface BoundaryContext {
  transport: Transport;
  signal?: AbortSignal;
  checkpoint?: CheckpointHook;
  emit?: (event: StoppedEvent) => void;
}

/** How long a signalled worker waits for every member's stop round, ms. */
export const STOP_AGREEMENT_TIMEOUT_MS = 2500;

type Agreement = { round: number } | { now: string };

export class RoundBoundary {
  /** The first round this worker has not started. */
  private next: number;
  private agreement?: Promise<Agreement>;
  private readonly onAbort = () => {
    this.agreement ??= this.agree();
  };

  /** @param firstRound the loop's first round (a resume's); checkpoints are due only after it. */
  constructor(
    private readonly ctx: BoundaryContext,
    private readonly firstRound: number,
  ) {
    this.next = firstRound;
    // Only a worker that can save agrees on a stop round; one that cannot stops at once, as before.
    // The listener stays after the loop: a worker that finished its rounds still answers (its c is
    // the run's end), so its peers run to the end too instead of waiting out the timeout.
    if (ctx.checkpoint) {
      if (ctx.signal?.aborted) this.onAbort();
      else ctx.signal?.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /**
   * At the top of `round`: saves the periodic checkpoint when due; true when the loop stops here.
   * `state` is the algorithm's own part of a checkpoint, as of this boundary.
   */
  async stopBefore(round: number, state: () => Promise<AlgorithmState>): Promise<boolean> {
    this.next = round;
    const hook = this.ctx.checkpoint;
    let saved = false;
    if (checkpointDue(hook, round, this.firstRound)) {
      await hook.save(round, await state());
      saved = true;
    }
    if (!this.ctx.signal?.aborted) {
      this.next = round + 1;
      return false;
    }
    const id = this.ctx.transport.id;
    if (!hook || !this.agreement) return true;
    const agreed = await this.agreement;
    if ('now' in agreed) {
      this.ctx.emit?.({ type: 'stopped', worker: id, round, checkpoint: false, detail: agreed.now });
      return true;
    }
    if (agreed.round > round) {
      this.next = round + 1;
      return false;
    }
    // At the resume round itself the checkpoint resumed from (or a periodic one just saved) is it.
    const save = !saved && round > this.firstRound;
    if (save) await hook.save(round, await state());
    this.ctx.emit?.({ type: 'stopped', worker: id, round, checkpoint: save || saved });
    return true;
  }

  private async agree(): Promise<Agreement> {
    const { transport } = this.ctx;
    const mine = this.next;
    const peers = transport.views.current().members.filter((m) => m !== transport.id);
    const key = { tensor: TENSOR.stop, round: 0 };
    const timeoutMs = STOP_AGREEMENT_TIMEOUT_MS;
    try {
      const [, theirs] = await Promise.all([
        Promise.all(peers.map((p) => transport.send(p, key, Float32Array.of(mine), { timeoutMs }))),
        Promise.all(peers.map((p) => transport.receive(p, key, { timeoutMs }))),
      ]);
      return { round: Math.max(mine, ...theirs.map((v) => v[0])) };
    } catch (e) {
      return { now: `no stop round agreed with every member (${(e as Error).message}); no final checkpoint` };
    }
  }
}
