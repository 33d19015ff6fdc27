// The per-round pieces every data-parallel worker loop shares: following a membership view, round
// events with byte counters, and the measurements (consensus distance, evaluation) of a round.
import type { MembershipView, Transport } from '@gossamer/transport';
import { isViewFault, orderedMembers } from '../elastic.js';
import type { RoundEvent, WorkerContext } from './context.js';
import { TENSOR } from './tensors.js';

/**
 * `ctx` for the members of `view`: their run order, this worker's index among them, and the view's
 * epoch and first round (`startRound`, in rounds of the caller's own measurements).
 */
export function contextInView(ctx: WorkerContext, view: MembershipView, startRound = view.startRound): WorkerContext {
  const id = ctx.transport.id;
  const members = orderedMembers(ctx.ids, view);
  return { ...ctx, ids: members, index: members.indexOf(id), viewEpoch: view.epoch, viewStartRound: startRound };
}

/** A round event with the transport's cumulative byte counters filled in. */
export function roundEvent(transport: Transport, fields: Omit<RoundEvent, 'type' | 'bytesSent' | 'bytesReceived'>): RoundEvent {
  const stats = transport.stats();
  return { type: 'round', ...fields, bytesSent: stats.bytesSent, bytesReceived: stats.bytesReceived };
}

/** Ξ² = (1/n) Σ ‖x_i − x̄‖², by two all-reduces (x̄, then the mean of the squared distances). */
export async function consensusDistance(transport: Transport, ids: readonly string[], local: Float32Array, round: number, tensor: number, viewEpoch?: number): Promise<number> {
  const mean = Float32Array.from(local);
  await transport.allReduce({ tensor, round }, mean, { group: ids, collectiveId: 1, viewEpoch });
  let d = 0;
  for (let i = 0; i < local.length; i++) d += (local[i] - mean[i]) ** 2;
  const scalar = Float32Array.of(d);
  await transport.allReduce({ tensor, round }, scalar, { group: ids, collectiveId: 2, viewEpoch });
  return scalar[0];
}

export async function readParameters(ctx: WorkerContext): Promise<Float32Array> {
  return ctx.gpu.readF32(ctx.replica.params, 0, ctx.replica.layout.length);
}

/**
 * Whether round `round`'s measurements (all-reduces every member must join) are taken in the
 * worker's view: not in the view's first round or before. A worker that adopts a view during a
 * round's communication is at most at the view's start round (it acknowledged it from there), so
 * past it every member is in the view from the round's start, and none waits for one that skipped.
 */
export function measurable(ctx: WorkerContext, round: number): boolean {
  return !ctx.viewEpoch || round > (ctx.viewStartRound ?? 0);
}

/**
 * Adds the round's measurements to `event`: the consensus distance every `consensusEvery` rounds and
 * the local model's test metrics every `evalEvery` rounds (both also in the last round). Returns the
 * test accuracy of the last round, when measured.
 */
export async function measureRound(
  ctx: WorkerContext,
  event: RoundEvent,
  options: { rounds: number; consensusEvery: number; evalEvery: number },
): Promise<number | undefined> {
  const round = event.round;
  const last = round === options.rounds - 1;
  const every = (n: number) => n > 0 && round % n === n - 1;
  if (options.consensusEvery > 0 && (every(options.consensusEvery) || last) && measurable(ctx, round)) {
    try {
      event.consensusDistance = await consensusDistance(ctx.transport, ctx.ids, await readParameters(ctx), round, TENSOR.metrics, ctx.viewEpoch);
    } catch (error) {
      // A view change interrupted the measurement: it changes no state, so it is not redone.
      if (ctx.viewEpoch === undefined || !isViewFault(error)) throw error;
    }
  }
  if (ctx.evalSet && (every(options.evalEvery) || last)) {
    const e = await ctx.replica.evaluate(ctx.evalSet);
    event.accuracy = e.accuracy;
    event.testLoss = e.loss;
    if (last) return e.accuracy;
  }
  return undefined;
}
