// The final merge as one all-or-nothing step over a view (docs/elastic.md, "Exact final merge").
// A worker may die in the merge's last exchange after some members completed it: they would keep
// the mean over the old view while the rest redo the merge over the new one. So a merge counts only
// once every member completed it: a member that completed enters a one-value all-reduce (the
// commit), which can complete only when every member has entered it.
//
// - The commit completes: every member completed the merge of this attempt; done.
// - A view change interrupts the merge or the commit: every member redoes both over the new view,
//   from its pre-merge parameters.
// - A member left 'done' (it leaves only after its commit completed, so every member of that
//   attempt had completed the merge): the result of this worker's last completed merge stands.
import { PeerLeftError } from '@gossamer/transport';
import type { ViewFollower } from '../elastic.js';
import type { WorkerContext } from '../common/context.js';
import { readParameters } from '../common/measure.js';
import { TENSOR } from '../common/tensors.js';

/**
 * Runs `merge` (which merges the replica's parameters in place over the current view and says how)
 * as round `round`'s communication until a view's commit completes. Undefined when the view that
 * ends up current starts after the merge (the others had completed it).
 */
export async function committedMerge(follower: ViewFollower, ctx: WorkerContext, current: () => WorkerContext, round: number, merge: () => Promise<string>): Promise<string | undefined> {
  const before = await readParameters(ctx);
  let attempts = 0;
  let completed: { params: Float32Array; method: string } | undefined;
  return follower.communicate(round, async () => {
    const view = current();
    if (attempts++ > 0) ctx.gpu.write(ctx.replica.params, 0, before);
    try {
      const method = await merge();
      if (view.ids.length < 2) return method;
      completed = { params: await readParameters(view), method };
      await ctx.transport.allReduce({ tensor: TENSOR.mergeCommit, round }, Float32Array.of(1), { group: view.ids, viewEpoch: view.viewEpoch });
      return method;
    } catch (error) {
      if (!(error instanceof PeerLeftError && error.reason === 'done' && completed !== undefined)) throw error;
      ctx.gpu.write(ctx.replica.params, 0, completed.params);
      return completed.method;
    }
  });
}
