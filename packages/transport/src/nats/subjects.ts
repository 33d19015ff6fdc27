// The subject scheme (one NATS token per part; ids and run ids are [A-Za-z0-9_-]+), all under the
// sender's own prefix, so NATS permissions can allow worker w to publish only on `gossamer.<run>.w.>`:
//   gossamer.<run>.<sender>.member          join, leave, view change and suspicion (to everyone);
//                                           heartbeat of a worker alone in its view (a joiner)
//   gossamer.<run>.<sender>.data.<to>       tensor_chunk, all_reduce_chunk
//   gossamer.<run>.<sender>.ctrl.<to>       chunk_ack, retransmit_request, error_report, heartbeat,
//                                           view change ack (to its proposer)
// A worker subscribes to `gossamer.<run>.*.member`, `gossamer.<run>.*.data.<self>` and
// `gossamer.<run>.*.ctrl.<self>`, and rejects an envelope whose sender differs from its subject's.
import type { MessageKind } from '@gossamer/wire';
import { TransportUsageError } from '../errors.js';

export const natsSubjects = {
  member: (run: string, sender: string): string => `gossamer.${run}.${sender}.member`,
  data: (run: string, sender: string, to: string): string => `gossamer.${run}.${sender}.data.${to}`,
  ctrl: (run: string, sender: string, to: string): string => `gossamer.${run}.${sender}.ctrl.${to}`,
  /** What worker `self` subscribes to. */
  subscriptions: (run: string, self: string): string[] => [`gossamer.${run}.*.member`, `gossamer.${run}.*.data.${self}`, `gossamer.${run}.*.ctrl.${self}`],
  /** Publish permission that confines worker `self` to its own subjects. */
  publishPermission: (run: string, self: string): string => `gossamer.${run}.${self}.>`,
};

/** The kind of subject ('member', 'data' or 'ctrl') a subscription's subject is. */
export function subjectKindOf(subject: string): string {
  return subject.split('.')[3] ?? '';
}

/** The sender a subject belongs to (its third token). */
export function subjectSenderOf(subject: string): string | undefined {
  return subject.split('.')[2];
}

/** The message kinds each kind of subject may carry; anything else on it is rejected as malformed. */
export const SUBJECT_KINDS: Readonly<Record<string, readonly MessageKind[]>> = {
  member: ['join', 'leave', 'heartbeat', 'viewChange'],
  data: ['tensorChunk', 'allReduceChunk'],
  // heartbeat: to a monitor (or a data peer); viewChange: an ack, to its proposer.
  ctrl: ['chunkAck', 'retransmitRequest', 'errorReport', 'heartbeat', 'viewChange'],
};

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** Throws TransportUsageError unless `value` can be one token of a subject. */
export function checkToken(what: string, value: string): void {
  if (!TOKEN.test(value)) throw new TransportUsageError(`${what} ${JSON.stringify(value)} must match [A-Za-z0-9_-]{1,128}`);
}
