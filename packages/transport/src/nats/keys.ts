// How the transport's keys and view steps map onto the wire's messages, and how a transfer is named
// in errors.
import { AllReducePhase, ReduceOp, ViewStep, tensorByteLength, type EnvelopeBodies, type TransferKey as WireTransferKey } from '@gossamer/wire';
import { WIRE_DTYPES, type SegmentTransfer } from '../allreduce.js';
import type { TransferKey } from '../types.js';
import type { ViewMessage } from '../views.js';

const PHASES = { 'reduce-scatter': AllReducePhase.ALL_REDUCE_PHASE_REDUCE_SCATTER, 'all-gather': AllReducePhase.ALL_REDUCE_PHASE_ALL_GATHER } as const;

/** The collective fields of an AllReduceChunk (everything but the chunk). */
export type CollectiveHeader = Omit<EnvelopeBodies['allReduceChunk'], 'chunk'>;

export function pointToPoint(key: TransferKey): WireTransferKey {
  return { tensorId: key.tensor, round: key.round, collectiveId: 0, phase: AllReducePhase.ALL_REDUCE_PHASE_UNSPECIFIED, step: 0 };
}

export function segmentTransfer(t: SegmentTransfer): WireTransferKey {
  return { tensorId: t.key.tensor, round: t.key.round, collectiveId: t.collectiveId, phase: PHASES[t.phase], step: t.step };
}

/** The header every chunk of ring segment `t` carries. */
export function collectiveHeader(t: SegmentTransfer): CollectiveHeader {
  return {
    collectiveId: t.collectiveId,
    phase: PHASES[t.phase],
    step: t.step,
    ringSize: t.ringSize,
    segmentIndex: t.segmentIndex,
    segmentByteOffset: tensorByteLength(WIRE_DTYPES[t.dtype], t.segmentOffset),
    op: t.op === 'mean' ? ReduceOp.REDUCE_OP_MEAN : ReduceOp.REDUCE_OP_SUM,
    contributions: t.contributions,
  };
}

export function describe(t: WireTransferKey): string {
  const base = `tensor ${t.tensorId} of round ${t.round}`;
  return t.collectiveId === 0 ? base : `${base} (all-reduce ${t.collectiveId} phase ${t.phase} step ${t.step})`;
}

export function viewChangeOf(m: ViewMessage): EnvelopeBodies['viewChange'] {
  return {
    step: m.step === 'propose' ? ViewStep.VIEW_STEP_PROPOSE : m.step === 'ack' ? ViewStep.VIEW_STEP_ACK : ViewStep.VIEW_STEP_COMMIT,
    epoch: m.epoch,
    proposer: m.proposer,
    members: m.step === 'ack' ? [] : [...m.members],
    round: m.step === 'propose' ? 0 : m.round,
  };
}

/** A view-agreement step as views.ts takes it (never a SUSPECT notice: the transport handles those). */
export function viewMessageOf(v: EnvelopeBodies['viewChange']): ViewMessage {
  if (v.step === ViewStep.VIEW_STEP_PROPOSE) return { step: 'propose', epoch: v.epoch, proposer: v.proposer, members: v.members };
  if (v.step === ViewStep.VIEW_STEP_ACK) return { step: 'ack', epoch: v.epoch, proposer: v.proposer, round: v.round };
  return { step: 'commit', epoch: v.epoch, proposer: v.proposer, members: v.members, round: v.round };
}
