// Where a worker process's checkpoints go (issue 14 item 4): files under --checkpoint-dir, written
// atomically and awaited (the copy a resume reads first), and, when the server has JetStream, the
// run's object store bucket. Store puts run in the background, one at a time per worker with the
// newest waiting (an older one not yet started is dropped, it is superseded), so training never
// waits on the store; a put that fails is reported as a warning and never ends training.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { saveCheckpointFile } from '@gossamer/model';
import type { CheckpointStore } from '@gossamer/transport';

/** A line for the run's metrics: a checkpoint is in the object store, or a put failed. */
export type StoreEvent =
  | { type: 'checkpoint-stored'; worker: string; round: number; bucket: string; object: string; size: number; digest: string }
  | { type: 'warning'; worker: string; round: number; message: string };

export interface CheckpointSinkOptions {
  /** Files go to <dir>/round-<k>/<id>.ckpt. */
  dir?: string;
  store?: CheckpointStore;
  emit(event: StoreEvent): void;
}

interface Queued {
  round: number;
  bytes: Uint8Array;
}

export class CheckpointSink {
  /** Per worker: the put in flight, and the newest checkpoint waiting for it. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, Queued>();

  constructor(private readonly options: CheckpointSinkOptions) {}

  /** Whether checkpoints go anywhere. */
  get active(): boolean {
    return this.options.dir !== undefined || this.options.store !== undefined;
  }

  /** Saves worker `id`'s checkpoint for a resume at `round`: the file now, the store in the background. */
  async save(id: string, round: number, bytes: Uint8Array): Promise<void> {
    if (this.options.dir) {
      const dir = join(this.options.dir, `round-${round}`);
      await mkdir(dir, { recursive: true });
      await saveCheckpointFile(join(dir, `${id}.ckpt`), bytes); // atomic: written, then renamed
    }
    if (this.options.store) {
      this.waiting.set(id, { round, bytes });
      if (!this.inFlight.has(id)) this.inFlight.set(id, this.drain(id, this.options.store));
    }
  }

  /** Waits (at most `timeoutMs`) for the puts still in the background; true when all finished. */
  async flush(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const done = Promise.all(this.inFlight.values()).then(() => true as const);
    try {
      return await Promise.race([done, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async drain(id: string, store: CheckpointStore): Promise<void> {
    for (let next = this.waiting.get(id); next; next = this.waiting.get(id)) {
      this.waiting.delete(id);
      try {
        const p = await store.put(id, next.round, next.bytes);
        this.options.emit({ type: 'checkpoint-stored', worker: id, round: next.round, bucket: store.bucket, object: p.object, size: p.size, digest: p.digest });
      } catch (e) {
        const where = this.options.dir ? 'it is in the files only' : 'it is not saved anywhere';
        const message = `could not put the round-${next.round} checkpoint in the object store ${store.bucket} (${(e as Error).message}); ${where}`;
        this.options.emit({ type: 'warning', worker: id, round: next.round, message });
      }
    }
    this.inFlight.delete(id);
  }
}
