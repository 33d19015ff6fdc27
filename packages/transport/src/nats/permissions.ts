// A server that refuses a publish or subscription (the worker's credentials do not allow it) fails
// the transport at once with the fix, rather than letting every operation time out later.
import { TransportPermissionError } from '../errors.js';
import { natsSubjects } from './subjects.js';

/** The error for the refusal `error` (a nats.js PermissionViolationError) of worker `id` of `runId`. */
export function permissionRefusal(error: Error, runId: string, id: string): TransportPermissionError {
  const { operation, subject } = error as Error & { operation?: string; subject?: string };
  const op = operation === 'subscription' ? 'subscription' : 'publish';
  const own = natsSubjects.publishPermission(runId, id);
  return new TransportPermissionError(
    `NATS refused worker ${id}'s ${op === 'publish' ? 'publish on' : 'subscription to'} ${subject ?? '(unknown subject)'} (${error.message}). ` +
      `Worker ${id} of run ${runId} needs credentials that may publish on ${own} and subscribe to gossamer.${runId}.>: ` +
      `check that this machine uses the credentials issued for ${id} (e.g. infra/nats/secure: node gen-nkeys.mjs --run ${runId} --workers ...)`,
    op,
    subject ?? '',
  );
}
