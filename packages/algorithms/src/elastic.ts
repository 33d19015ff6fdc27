// Following the run's membership view from inside an algorithm's loop (ALGORITHMS.md "elastic
// runs"). Every algorithm's communication goes through `communicate(round, attempt)`: the attempt is
// planned over the current view's members and tagged with its epoch; if a member fails meanwhile,
// the transport fails it with ViewChangedError (or PeerLeftError), the survivors agree on the next
// view at a round boundary, and the round's communication is redone over the new members, or skipped
// when the new view starts after it (others had completed it). A fault-free run never leaves view 0,
// whose envelopes are byte for byte those of a run without views.
import { PeerLeftError, ViewChangedError, type MembershipView, type Transport } from '@gossamer/transport';

/** A view change as an algorithm event: who is in the run from which round on. */
export interface ViewEvent {
  type: 'view';
  worker: string;
  epoch: number;
  members: readonly string[];
  /** The first round communicated in this view. */
  startRound: number;
  removed: readonly string[];
  added: readonly string[];
  /** How long this worker waited for the view to be agreed, ms. */
  waitedMs: number;
}

/**
 * The workers of `view` in the run's own order: the initial workers that are still members, in
 * their order (so a ring closes over a gap and neighbours stay neighbours), then any that joined.
 */
export function orderedMembers(initial: readonly string[], view: MembershipView): string[] {
  return [...initial.filter((id) => view.members.includes(id)), ...view.members.filter((id) => !initial.includes(id))];
}

/** True for the errors a view change produces: the operation can be redone in the next view. */
export function isViewFault(error: unknown): boolean {
  return error instanceof ViewChangedError || (error instanceof PeerLeftError && error.reason !== 'done');
}

export class ViewFollower {
  private view: MembershipView;

  /**
   * @param onView called with the current view at once, then (before any communication in it) with
   *   each later view this worker adopts, to rebuild what depends on the members (topology, mixer,
   *   ring order).
   */
  /**
   * @param onJoined called (and awaited) for each worker a new view adds, before any communication
   *   in that view: where a member hands the joiner its state (joinTransfer).
   */
  constructor(
    private readonly transport: Transport,
    private readonly emit: (event: ViewEvent) => void = () => {},
    private readonly onView: (view: MembershipView) => void = () => {},
    private readonly onJoined: (joiner: string, view: MembershipView) => Promise<void> = async () => {},
  ) {
    this.view = transport.views.current();
    onView(this.view);
  }

  get current(): MembershipView {
    return this.view;
  }

  get epoch(): number {
    return this.view.epoch;
  }

  /** The current view's members, sorted: the node numbering of topologies and the ring order. */
  get members(): readonly string[] {
    return this.view.members;
  }

  /** This worker's index among the members. */
  get index(): number {
    return this.view.members.indexOf(this.transport.id);
  }

  /**
   * Round `round`'s communication, `attempt(view)`, in the current view; redone in each later view
   * that interrupts it, or skipped (undefined) when the view that ends up current starts after
   * `round`. Other errors propagate. On success the transport learns that `round` is complete.
   */
  async communicate<T>(round: number, attempt: (view: MembershipView) => Promise<T>): Promise<T | undefined> {
    for (;;) {
      // Without a change there is no await before the attempt: it starts synchronously, so CO2's
      // all-reduce leaves before the next round's steps are encoded.
      if (this.outdated) await this.settle();
      if (round < this.view.startRound) {
        this.transport.views.reportRound(round + 1); // skipped: done, as far as views are concerned
        return undefined;
      }
      // A proposal accepted during the attempt is acknowledged after it, with the round it reached:
      // the attempt can complete after the seal (its last message came with the proposal).
      this.transport.views.holdAcks();
      let result: T;
      try {
        result = await attempt(this.view);
        this.transport.views.reportRound(round + 1);
      } catch (error) {
        this.transport.views.releaseAcks();
        if (!isViewFault(error)) throw error;
        await this.next();
        continue;
      }
      this.transport.views.releaseAcks();
      return result;
    }
  }

  /**
   * A measurement (the consensus distance): run once in the current view; undefined when a view
   * change interrupts it (nothing to redo: it changes no state).
   */
  async measure<T>(attempt: (view: MembershipView) => Promise<T>): Promise<T | undefined> {
    if (this.transport.views.changing || this.transport.views.current().epoch !== this.view.epoch) return undefined;
    try {
      return await attempt(this.view);
    } catch (error) {
      if (isViewFault(error)) return undefined;
      throw error;
    }
  }

  /** The transport has (or is agreeing) a view this follower has not adopted. */
  private get outdated(): boolean {
    return this.transport.views.changing || this.transport.views.current().epoch !== this.view.epoch;
  }

  /** Adopts the transport's view, first waiting for the one being agreed (if any). */
  async settle(): Promise<void> {
    if (this.transport.views.changing) await this.next();
    else if (this.transport.views.current().epoch !== this.view.epoch) await this.adopt(this.transport.views.current(), 0);
  }

  /**
   * Waits for the first view after the current one and adopts it (and any change already under way
   * after it). For algorithms that handle a view fault themselves rather than through communicate().
   */
  async next(): Promise<void> {
    const t0 = performance.now();
    const view = await this.transport.views.after(this.view.epoch);
    await this.adopt(view, performance.now() - t0);
    // A further change may already be under way (a second failure during the first).
    if (this.transport.views.changing) await this.next();
  }

  private async adopt(view: MembershipView, waitedMs: number): Promise<void> {
    const previous = this.view;
    this.view = view;
    this.onView(view);
    const added = view.members.filter((m) => !previous.members.includes(m));
    this.emit({
      type: 'view',
      worker: this.transport.id,
      epoch: view.epoch,
      members: view.members,
      startRound: view.startRound,
      removed: previous.members.filter((m) => !view.members.includes(m)),
      added,
      waitedMs,
    });
    for (const joiner of added) {
      try {
        await this.onJoined(joiner, view);
      } catch (error) {
        // The joiner failed or the view changed again: the next view settles it.
        if (!isViewFault(error)) throw error;
      }
    }
  }
}
