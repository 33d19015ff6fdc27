// Where `gossamer train --resume <run>` continues from (issue 14 item 4): the latest round that
// every worker checkpointed, in the run's files or in its object store bucket. The bucket is looked
// at when the server holding it is given with --nats (the embedded server's store ends with its
// run); of the two, the later round wins, the files on a tie (they are local).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointStore } from '@gossamer/transport';
import { UsageError } from './command.js';
import { CHECKPOINT_STORE_RECORD, latestCompleteCheckpoint, type CheckpointStoreRecord } from './launch.js';

export type ResumeSource =
  | { kind: 'files'; round: number; dir: string; bucket?: string }
  | { kind: 'store'; round: number; bucket: string };

/** The run's checkpoint store record, if its launcher wrote one. */
export function readStoreRecord(runDir: string): CheckpointStoreRecord | undefined {
  const file = join(runDir, CHECKPOINT_STORE_RECORD);
  if (!existsSync(file)) return undefined;
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as Partial<CheckpointStoreRecord>;
    return typeof record.bucket === 'string' ? { bucket: record.bucket, nats: String(record.nats ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

/** Throws a UsageError saying where it looked when no round was checkpointed by every worker. */
export async function findResumeSource(runDir: string, workers: number, nats: string | undefined): Promise<ResumeSource> {
  const files = latestCompleteCheckpoint(runDir, workers);
  const record = readStoreRecord(runDir);
  let inStore: number | undefined;
  let storeProblem: string | undefined;
  if (record && nats) {
    try {
      const store = await CheckpointStore.open({ servers: nats.split(','), bucket: record.bucket, create: false });
      try {
        inStore = await store.latestCompleteRound(Array.from({ length: workers }, (_, i) => `w${i}`));
      } finally {
        await store.close();
      }
      if (inStore === undefined) storeProblem = `bucket ${record.bucket} has no round that all ${workers} workers stored`;
    } catch (e) {
      storeProblem = (e as Error).message;
    }
  } else if (record) {
    storeProblem = record.nats === 'embedded' ? 'its object store was in the embedded nats-server, which stopped with the run' : `give --nats ${record.nats} to look in its object store`;
  }
  if (inStore !== undefined && record && (!files || inStore > files.round)) return { kind: 'store', round: inStore, bucket: record.bucket };
  if (files) return { kind: 'files', ...files, bucket: record?.bucket };
  throw new UsageError(
    `--resume ${runDir}: no round that all ${workers} workers checkpointed in ${join(runDir, 'checkpoints')}${storeProblem ? `, nor in the object store (${storeProblem})` : ''}. ` +
      'Periodic checkpoints need --checkpoint-every; a final one is written when the run is stopped with Ctrl-C.',
  );
}
