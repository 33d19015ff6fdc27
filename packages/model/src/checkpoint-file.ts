// Checkpoints as files (Node only; the browser entry leaves this module out).
import { readFile, writeFile, rename } from 'node:fs/promises';
import { CheckpointError, decodeCheckpoint, type Checkpoint } from './checkpoint.js';

export async function saveCheckpointFile(path: string, bytes: Uint8Array): Promise<void> {
  // Write then rename, so a crash mid-write never leaves a truncated checkpoint under the real name.
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

export async function loadCheckpointFile(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new CheckpointError(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  return decodeCheckpoint(bytes, path);
}
