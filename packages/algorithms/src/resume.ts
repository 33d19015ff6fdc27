// Checkpoints to resume from (issue 14 item 4): an algorithm's loop saves its own state at round
// boundaries through the host's callback, and a resumed worker starts at the saved round with it.
// The replica (parameters, optimizer state, step count) and the batcher's position are the host's
// to save and restore; what is here is what only the algorithm knows.

/** What an algorithm keeps across rounds beyond the replica: scalars and float vectors. */
export interface AlgorithmState {
  values: Record<string, number>;
  sections: { name: string; data: Float32Array }[];
}

/** A resumed worker's starting point. */
export interface ResumePoint {
  /** The first round to run. */
  round: number;
  values: Readonly<Record<string, number>>;
  sections: ReadonlyMap<string, Float32Array>;
  /**
   * A worker that joined a running run: its replica came from a member (receiveJoinState) and
   * `round` is the joining view's start round, in the algorithm's own units (steps for all-reduce
   * SGD). The algorithm's own state starts afresh (CO2: anchors at the received parameters).
   */
  joined?: boolean;
}

export interface CheckpointHook {
  /** Save before every round that is a multiple of this (and past the start). */
  every: number;
  /** Writes the worker's checkpoint for a resume at `round`. */
  save(round: number, state: AlgorithmState): Promise<void>;
}

/** Whether a checkpoint is due before `round` of a loop that started at `start`. */
export function checkpointDue(hook: CheckpointHook | undefined, round: number, start: number): hook is CheckpointHook {
  return hook !== undefined && hook.every > 0 && round > start && round % hook.every === 0;
}

/** The saved section `name`, or an error naming what is missing. */
export function savedSection(resume: ResumePoint, name: string, length: number): Float32Array {
  const data = resume.sections.get(name);
  if (!data) throw new Error(`the checkpoint to resume from has no "${name}" section (written by another algorithm?)`);
  if (data.length !== length) throw new Error(`the checkpoint's "${name}" has ${data.length} floats, expected ${length}`);
  return data;
}
