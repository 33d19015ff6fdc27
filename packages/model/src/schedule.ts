// Learning-rate schedules: the factor the optimizer's base lr is multiplied by at step t. The lr is a
// per-dispatch uniform already, so a schedule costs nothing on the GPU (no buffer, no upload).

export type LearningRateSchedule =
  | { kind: 'constant' }
  /**
   * Linear warm-up from lr/warmupSteps to lr over `warmupSteps`, then half a cosine from lr down to
   * minFactor·lr at `totalSteps` (and minFactor·lr after it).
   */
  | { kind: 'cosine'; totalSteps: number; warmupSteps?: number; minFactor?: number };

/** The factor at optimizer step t (1-based: t = 1 is the first update). */
export function learningRateFactor(schedule: LearningRateSchedule, t: number): number {
  if (schedule.kind === 'constant') return 1;
  const warmup = schedule.warmupSteps ?? 0;
  const min = schedule.minFactor ?? 0;
  if (t <= warmup) return t / warmup;
  const span = Math.max(1, schedule.totalSteps - warmup);
  const progress = Math.min(1, (t - warmup) / span);
  return min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/** Checks a schedule, naming the bad field. */
export function checkLearningRateSchedule(schedule: LearningRateSchedule): void {
  if (schedule.kind === 'constant') return;
  if (schedule.kind !== 'cosine') throw new Error(`learning-rate schedule: unknown kind ${JSON.stringify((schedule as { kind: unknown }).kind)} (constant or cosine)`);
  const { totalSteps, warmupSteps = 0, minFactor = 0 } = schedule;
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new Error(`cosine schedule: totalSteps must be a positive integer, got ${totalSteps}`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps >= totalSteps) throw new Error(`cosine schedule: warmupSteps must be an integer in [0, totalSteps), got ${warmupSteps}`);
  if (!(minFactor >= 0 && minFactor <= 1)) throw new Error(`cosine schedule: minFactor must be in [0, 1], got ${minFactor}`);
}
