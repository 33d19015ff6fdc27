// Re-synchronising replicas that must be identical (all-reduce SGD, Local SGD, SlowMo, CO2) after a
// view change (ALGORITHMS.md "elastic runs"). A collective interrupted by a failure can complete on
// some members and not on others (in a ring all-reduce, the dead worker's successor misses the last
// segments that everyone else got), so the survivors can differ by one update. At the first round
// of every new view the canonical copy, the first member's, is sent to every other member, who load
// it: parameters, optimizer state and the algorithm's own state (CO2's anchor and outer momentum).
// The same transfer heals replicas on different hardware whose bits drifted apart.
import type { Gpu } from '@gossamer/gpu';
import type { F32Span } from '@gossamer/kernels';
import type { Replica } from '@gossamer/model';
import type { MembershipView, TransferKey, Transport } from '@gossamer/transport';
import { orderedMembers } from './elastic.js';

/** A float range of a GPU buffer that is part of a worker's state. */
export interface StateRange {
  readonly buffer: GPUBuffer;
  /** First float. */
  readonly offset: number;
  readonly length: number;
}

/** The replica's parameters and optimizer state, then `extra` buffers laid out like the parameters. */
export function replicaState(replica: Replica, extra: readonly GPUBuffer[] = []): StateRange[] {
  const ranges: StateRange[] = [{ buffer: replica.params, offset: 0, length: replica.layout.length }];
  for (const s of replica.optimizer.state) {
    const b = replica.state[s.name] as GPUBuffer | F32Span;
    ranges.push('buffer' in b && 'offset' in b ? { buffer: b.buffer, offset: b.offset, length: s.length } : { buffer: b as GPUBuffer, offset: 0, length: s.length });
  }
  for (const b of extra) ranges.push({ buffer: b, offset: 0, length: replica.layout.length });
  return ranges;
}

/**
 * Makes every member's `state` equal to `members[0]`'s: it sends its ranges (one flat vector) to the
 * others under `key`, who write them back in place. Tagged with the view, so a further change fails
 * it (the caller redoes it in the next view).
 */
export async function syncFromCanonical(gpu: Gpu, transport: Transport, members: readonly string[], state: readonly StateRange[], key: TransferKey, viewEpoch: number): Promise<void> {
  if (members.length < 2) return;
  const total = state.reduce((n, r) => n + r.length, 0);
  if (members[0] === transport.id) {
    const flat = new Float32Array(total);
    let at = 0;
    for (const r of state) {
      flat.set(await gpu.readF32(r.buffer, r.offset, r.length), at);
      at += r.length;
    }
    await Promise.all(members.slice(1).map((m) => transport.send(m, key, flat, { viewEpoch })));
    return;
  }
  const flat = await transport.receive(members[0], key, { viewEpoch });
  if (flat.length !== total) throw new Error(`state from ${members[0]} has ${flat.length} floats, ${transport.id} expects ${total} (a different model or optimizer?)`);
  let at = 0;
  for (const r of state) {
    gpu.write(r.buffer, 4 * r.offset, flat.subarray(at, at + r.length));
    at += r.length;
  }
}

/** Tensor id of the state a member hands a joiner (TENSOR.join in the algorithms' numbering). */
export const JOIN_TENSOR = 8;

/**
 * The member a joiner takes its state from: the first member of `view`, in the run's order, other
 * than the joiner (a view adds one joiner at a time, so it is one that was there before).
 */
export function joinSource(initial: readonly string[], view: MembershipView, joiner: string): string {
  const source = orderedMembers(initial, view).find((m) => m !== joiner);
  if (source === undefined) throw new Error(`${joiner} joined a view with no other member`);
  return source;
}

/**
 * The member side of a join (ViewFollower's onJoined): the source member sends its `state` to the
 * joiner, keyed by the view's start round, before communicating in the view.
 */
export function joinTransfer(gpu: Gpu, transport: Transport, initial: readonly string[], state: readonly StateRange[]): (joiner: string, view: MembershipView) => Promise<void> {
  return async (joiner, view) => {
    const source = joinSource(initial, view, joiner);
    if (source !== transport.id) return;
    await syncFromCanonical(gpu, transport, [source, joiner], state, { tensor: JOIN_TENSOR, round: view.startRound }, view.epoch);
  };
}

/** The joiner side: receives its `state` from its source member in the view that added it. */
export async function receiveJoinState(gpu: Gpu, transport: Transport, initial: readonly string[], state: readonly StateRange[], view: MembershipView): Promise<string> {
  const source = joinSource(initial, view, transport.id);
  await syncFromCanonical(gpu, transport, [source, transport.id], state, { tensor: JOIN_TENSOR, round: view.startRound }, view.epoch);
  return source;
}
