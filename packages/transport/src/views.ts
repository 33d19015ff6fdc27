// Membership views (docs/elastic.md): a run is a sequence of views V_e = (epoch e, sorted live set,
// the round from which it applies). Written once against a broadcast channel (and point to point for
// acks, which only their proposer reads), so the NATS and the in-process transports agree on views by
// exactly the same rules. Who suspects whom is the transport's business (NATS: monitor.ts).
//
// - Who proposes: the coordinator, the lowest id of the current view that this worker does not
//   suspect. It proposes V_{e+1} = the unsuspected members whenever that differs from the view.
// - Who accepts: a proposed member acknowledges the proposal with the round it is in, and seals
//   the old view (its transport fails every operation of epoch e with ViewChangedError). Between
//   proposals of one epoch the lower proposer wins, so a worker whose detector lags yields.
// - Commit: when every proposed member acknowledged, and the proposed set is a quorum (a strict
//   majority of the previous view, unless `quorum: 'any'`), the coordinator commits V_{e+1} with
//   start round = the highest round acknowledged. Members not acknowledging within `ackTimeoutMs`
//   are suspected and a new proposal (a higher epoch) leaves them out.
// - Split brain: two sides of a partition cannot both hold a strict majority of the same view, so
//   at most one side commits; the other waits, then fails with QuorumLostError.
// - A worker that misses a view change (frozen, cut off) learns it from a member's newer epoch
//   (any envelope carries one) or from a commit without itself: it is fenced (FencedError).
// - Joining: a worker outside the view asks to join (requestJoin); the coordinator proposes the
//   live members plus one joiner (one a change, so every joiner has a member to take its state
//   from; a proposal in flight is not superseded by a join), and the joiner acknowledges like a
//   member. A joiner's own first view is just itself, epoch 0: it never fences itself on the
//   members' newer epochs. A joiner that does not ack in time is left out of a view of the same
//   members (which unseals them) and tried again when it repeats its request.
import { FencedError, QuorumLostError, TransportClosedError, ViewChangedError } from './errors.js';

export interface MembershipView {
  /** 0 for the run's first view, +1 for each committed change. */
  readonly epoch: number;
  /** The live workers, sorted. */
  readonly members: readonly string[];
  /** The round from which this view applies (0 for the first view). */
  readonly startRound: number;
}

export type ViewMessage =
  | { readonly step: 'propose'; readonly epoch: number; readonly proposer: string; readonly members: readonly string[] }
  | { readonly step: 'ack'; readonly epoch: number; readonly proposer: string; readonly round: number }
  | { readonly step: 'commit'; readonly epoch: number; readonly proposer: string; readonly members: readonly string[]; readonly round: number };

/** What the keeper needs of its transport. */
export interface ViewHost {
  /** Sends a view message to every worker of the run (including those this one suspects). */
  broadcast(message: ViewMessage): void;
  /** Sends a view message to worker `to` alone: an ack, which only its proposer reads (n acks to n workers would be n²). */
  send(to: string, message: ViewMessage): void;
  /** This worker accepted a proposal: fail every pending operation of view `epoch`. */
  seal(epoch: number): void;
  /** A view was committed with this worker in it: traffic from now on carries its epoch. */
  install(view: MembershipView, previous: MembershipView): void;
  /** This worker was removed: fail everything with `error`. */
  fence(error: FencedError): void;
}

export interface ViewKeeperOptions {
  /** 'majority' (default): a new view needs a strict majority of the previous one. 'any': no quorum (a lone survivor goes on). */
  readonly quorum?: 'majority' | 'any';
  /** A proposed member silent this long after a proposal is suspected, ms (default 3000). */
  readonly ackTimeoutMs?: number;
  /** after() fails with QuorumLostError when no view is agreed this long, ms (default 30 000). */
  readonly viewChangeTimeoutMs?: number;
}

/** A view change as it happened, for events and logs. */
export interface ViewChange {
  readonly view: MembershipView;
  readonly removed: readonly string[];
  readonly added: readonly string[];
}

interface Proposal {
  readonly epoch: number;
  readonly members: readonly string[];
  readonly acks: Map<string, number>;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface Waiter {
  readonly epoch: number;
  readonly resolve: (view: MembershipView) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** One worker's side of the view agreement. */
export class ViewKeeper {
  private view: MembershipView;
  private readonly suspects = new Set<string>();
  /** Workers outside the view that asked to join. */
  private readonly joiners = new Set<string>();
  private accepted: { epoch: number; proposer: string } | undefined;
  private proposal: Proposal | undefined;
  private round = 0;
  /** Rounds whose communication is in flight (holdAcks): an ack accepted meanwhile waits for them. */
  private holds = 0;
  private deferredAck: { to: string; epoch: number } | undefined;
  private highestEpoch: number;
  private fenced: FencedError | undefined;
  private closed = false;
  private readonly waiters = new Set<Waiter>();
  private readonly history: ViewChange[] = [];
  private readonly quorum: 'majority' | 'any';
  private readonly ackTimeoutMs: number;
  private readonly viewChangeTimeoutMs: number;

  constructor(
    readonly self: string,
    initial: MembershipView,
    private readonly host: ViewHost,
    options: ViewKeeperOptions = {},
  ) {
    if (!initial.members.includes(self)) throw new Error(`${self} is not in its initial view`);
    this.view = { ...initial, members: [...initial.members].sort() };
    this.highestEpoch = initial.epoch;
    this.quorum = options.quorum ?? 'majority';
    this.ackTimeoutMs = options.ackTimeoutMs ?? 3000;
    this.viewChangeTimeoutMs = options.viewChangeTimeoutMs ?? 30_000;
  }

  /** A worker asking to join: still in the view of itself alone that it started with. */
  private get joining(): boolean {
    return this.view.epoch === 0 && this.view.members.length === 1 && this.view.members[0] === this.self;
  }

  /** The committed view this worker is in. */
  current(): MembershipView {
    return this.view;
  }

  /** True between accepting a proposal and its commit: operations of the current view fail. */
  get sealed(): boolean {
    return this.accepted !== undefined;
  }

  /** MembershipViews.changing: the same as sealed. */
  get changing(): boolean {
    return this.accepted !== undefined;
  }

  /** Set once this worker was removed from the run. */
  get fencedError(): FencedError | undefined {
    return this.fenced;
  }

  /**
   * The rule both transports apply before and during an operation: a fenced worker can do nothing;
   * one planned in view `viewEpoch` runs only while that view is current and not changing.
   * Operations without a view (undefined) ignore views.
   */
  checkOperation(viewEpoch: number | undefined): void {
    if (this.fenced) throw this.fenced;
    if (viewEpoch === undefined) return;
    if (viewEpoch !== this.view.epoch || this.sealed) {
      throw new ViewChangedError(`planned in view ${viewEpoch}; ${this.self} is in view ${this.view.epoch}${this.sealed ? ' (changing)' : ''}`, viewEpoch);
    }
  }

  /** The view changes committed so far, oldest first. */
  changes(): readonly ViewChange[] {
    return this.history;
  }

  /**
   * The first committed view after `epoch` (at once if there is one). Rejects with FencedError if
   * this worker was removed, QuorumLostError if none is agreed within the view-change timeout.
   */
  after(epoch: number): Promise<MembershipView> {
    if (this.fenced) return Promise.reject(this.fenced);
    if (this.closed) return Promise.reject(new TransportClosedError(`transport ${this.self} is closed`));
    if (this.view.epoch > epoch) return Promise.resolve(this.view);
    return new Promise<MembershipView>((resolve, reject) => {
      const waiter: Waiter = {
        epoch,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          const live = this.view.members.filter((m) => !this.suspects.has(m));
          if (this.joining) {
            // Nobody answered the join request: a run that has already ended looks the same as one out of reach.
            reject(
              new QuorumLostError(
                `${this.self} asked to join and no member added it within ${this.viewChangeTimeoutMs} ms: the run may have ended, or none of its members can be reached from here (check the --run id and the NATS URLs)`,
              ),
            );
            return;
          }
          reject(
            new QuorumLostError(
              `no view after ${epoch} was agreed within ${this.viewChangeTimeoutMs} ms: ${live.length} of the ${this.view.members.length} workers of view ${this.view.epoch} are live (${live.join(', ')})` +
                (this.quorum === 'majority' ? '; a new view needs a strict majority of the previous one' : ''),
            ),
          );
        }, this.viewChangeTimeoutMs),
      };
      waiter.timer.unref?.();
      this.waiters.add(waiter);
    });
  }

  /** The round this worker is in (sent with acknowledgements). */
  reportRound(round: number): void {
    this.round = round;
  }

  /**
   * A round's communication is in flight: acknowledgements (this worker's own as proposer too) wait
   * for releaseAcks(). Its last message and a proposal can arrive together, and the attempt then
   * completes after the seal: an ack sent at once would say the round is not done while this worker
   * goes on as if it were, and the new view would redo it without this worker.
   */
  holdAcks(): void {
    this.holds++;
  }

  /** The communication ended (reportRound already told whether it completed): deferred acks go out. */
  releaseAcks(): void {
    if (this.holds > 0) this.holds--;
    const d = this.deferredAck;
    if (this.holds > 0 || d === undefined) return;
    this.deferredAck = undefined;
    if (this.closed || this.fenced || this.accepted?.epoch !== d.epoch || this.accepted.proposer !== d.to) return;
    this.ack(d.to, d.epoch);
  }

  /** `peer`, not a member, asks to join the run (again, after a restart). */
  requestJoin(peer: string): void {
    if (this.closed || this.fenced || peer === this.self || this.view.members.includes(peer)) return;
    // Asked again (it repeats until a view has it): a proposal that timed out on it is tried anew.
    this.suspects.delete(peer);
    this.joiners.add(peer);
    this.lead();
  }

  /** The failure detector (or a Leave) says `peer` is gone. */
  suspect(peer: string): void {
    if (this.closed || this.fenced || peer === this.self || !this.view.members.includes(peer)) return;
    this.suspects.add(peer);
    this.lead();
  }

  /** Any envelope from `from` carried `epoch`: a member ahead of us means we were left out. */
  observeEpoch(from: string, epoch: number): void {
    if (epoch <= this.view.epoch || this.fenced || this.closed) return;
    this.highestEpoch = Math.max(this.highestEpoch, epoch);
    // A member can be in view `epoch` only after a commit that needed our ack, unless we are not in it.
    if (this.accepted?.epoch === epoch || this.proposal?.epoch === epoch) return;
    if (this.view.members.includes(from)) this.fence(epoch, `${from} is in view ${epoch}, committed without ${this.self}`);
  }

  /** A view message from `from`. */
  onMessage(from: string, m: ViewMessage): void {
    if (this.closed || this.fenced) return;
    this.highestEpoch = Math.max(this.highestEpoch, m.epoch);
    switch (m.step) {
      case 'propose':
        return this.onPropose(from, m.epoch, m.members);
      case 'ack':
        return this.onAck(from, m.epoch, m.proposer, m.round);
      case 'commit':
        return this.onCommit(from, m.epoch, m.members, m.round);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.proposal?.timer) clearTimeout(this.proposal.timer);
    this.rejectWaiters(new TransportClosedError(`transport ${this.self} is closed`));
  }

  // ---- the protocol ----------------------------------------------------------------------------

  private live(): string[] {
    return this.view.members.filter((m) => !this.suspects.has(m));
  }

  private hasQuorum(members: readonly string[]): boolean {
    return this.quorum === 'any' || 2 * members.length > this.view.members.length;
  }

  /** The next view as this worker would propose it: the live members and the lowest joiner. */
  private proposedMembers(live: readonly string[]): string[] {
    const joiner = [...this.joiners].filter((j) => !this.suspects.has(j)).sort()[0];
    return joiner === undefined ? [...live] : [...live, joiner].sort();
  }

  /** Proposes the next view if this worker is the coordinator and the live set changed. */
  private lead(): void {
    const live = this.live();
    const members = this.proposedMembers(live);
    if (live[0] !== this.self) return;
    // The same members as the view: nothing to change, unless this worker's own proposal failed (a
    // joiner that did not ack in time) and left the members sealed: a view of the same members at a
    // new epoch unseals them, or they would wait out the view-change timeout.
    const failed = this.accepted !== undefined && (this.accepted.proposer === this.self || this.suspects.has(this.accepted.proposer));
    if (sameIds(members, this.view.members) && !failed) return;
    // A proposal whose members are all still live runs to its commit; a join waits for the next.
    if (this.proposal && this.proposal.members.every((m) => !this.suspects.has(m))) return;
    const a = this.accepted;
    if (a && a.proposer < this.self && !this.suspects.has(a.proposer) && a.epoch > this.view.epoch) return; // a lower coordinator is at work
    if (!this.hasQuorum(live)) return; // wait: after() reports the lost quorum
    if (this.proposal?.timer) clearTimeout(this.proposal.timer);
    const epoch = Math.max(this.view.epoch, this.highestEpoch) + 1;
    this.highestEpoch = epoch;
    const proposal: Proposal = { epoch, members, acks: new Map(), timer: undefined };
    this.proposal = proposal;
    this.accept(epoch, this.self);
    this.host.broadcast({ step: 'propose', epoch, proposer: this.self, members });
    if (this.holds > 0) this.deferredAck = { to: this.self, epoch };
    else proposal.acks.set(this.self, this.round);
    proposal.timer = setTimeout(() => {
      if (this.proposal !== proposal) return;
      // Whoever has not acknowledged is treated as gone; the next proposal leaves them out.
      for (const m of proposal.members) if (!proposal.acks.has(m) && m !== this.self) this.suspects.add(m);
      this.proposal = undefined;
      this.lead();
    }, this.ackTimeoutMs);
    proposal.timer.unref?.();
    this.maybeCommit();
  }

  private accept(epoch: number, proposer: string): void {
    const wasSealed = this.sealed;
    this.accepted = { epoch, proposer };
    if (!wasSealed) this.host.seal(this.view.epoch);
  }

  private onPropose(from: string, epoch: number, members: readonly string[]): void {
    if (epoch <= this.view.epoch || !members.includes(this.self)) return; // stale, or a view without us (we learn at its commit)
    // Only a member of this view leads its change (a joiner's view has no one else: any member adding
    // it). A proposal from outside is one delayed past a partition, from a worker removed since: it
    // would seal this worker for a change that never commits.
    if (!this.joining && !this.view.members.includes(from)) return;
    if (this.suspects.has(from)) return; // a coordinator that has failed since
    const a = this.accepted;
    if (a && !this.suspects.has(a.proposer) && (a.epoch > epoch || (a.epoch === epoch && a.proposer < from))) return;
    if (this.proposal && from < this.self) {
      if (this.proposal.timer) clearTimeout(this.proposal.timer);
      this.proposal = undefined; // yield to the lower coordinator
    }
    this.accept(epoch, from);
    if (this.holds > 0) this.deferredAck = { to: from, epoch };
    else this.ack(from, epoch);
  }

  /** Acknowledges `proposer`'s proposal of `epoch` with the round this worker is in. */
  private ack(proposer: string, epoch: number): void {
    if (proposer === this.self) this.onAck(this.self, epoch, this.self, this.round);
    else this.host.send(proposer, { step: 'ack', epoch, proposer, round: this.round });
  }

  private onAck(from: string, epoch: number, proposer: string, round: number): void {
    const p = this.proposal;
    if (!p || proposer !== this.self || epoch !== p.epoch || !p.members.includes(from)) return;
    p.acks.set(from, round);
    this.maybeCommit();
  }

  private maybeCommit(): void {
    const p = this.proposal;
    if (!p || p.acks.size < p.members.length) return;
    if (p.timer) clearTimeout(p.timer);
    this.proposal = undefined;
    const round = Math.max(...p.acks.values());
    this.host.broadcast({ step: 'commit', epoch: p.epoch, proposer: this.self, members: p.members, round });
    this.install({ epoch: p.epoch, members: p.members, startRound: round });
  }

  private onCommit(from: string, epoch: number, members: readonly string[], round: number): void {
    if (epoch <= this.view.epoch) return;
    if (!this.joining && !this.view.members.includes(from)) return; // as for proposals: only a member commits
    if (!members.includes(this.self)) {
      // A joiner is in no view yet: a view without it is not one it was removed from.
      if (!this.joining) this.fence(epoch, `view ${epoch} (${members.join(', ')}) was committed without ${this.self}`);
      return;
    }
    this.install({ epoch, members: [...members].sort(), startRound: round });
  }

  private install(view: MembershipView): void {
    const previous = this.view;
    this.view = view;
    this.accepted = undefined;
    this.deferredAck = undefined;
    if (this.proposal?.timer) clearTimeout(this.proposal.timer);
    this.proposal = undefined;
    for (const s of [...this.suspects]) if (!view.members.includes(s) && !this.joiners.has(s)) this.suspects.delete(s);
    for (const j of [...this.joiners]) if (view.members.includes(j)) this.joiners.delete(j);
    this.history.push({
      view,
      removed: previous.members.filter((m) => !view.members.includes(m)),
      added: view.members.filter((m) => !previous.members.includes(m)),
    });
    this.host.install(view, previous);
    for (const w of [...this.waiters]) {
      if (w.epoch < view.epoch) {
        clearTimeout(w.timer);
        this.waiters.delete(w);
        w.resolve(view);
      }
    }
    if (this.suspects.size > 0 || this.joiners.size > 0) this.lead(); // a failure detected, or a join asked, during the change
  }

  private fence(epoch: number, why: string): void {
    this.fenced = new FencedError(
      `${this.self} was removed from the run: ${why} (it was silent past the failure-detection timeout, e.g. frozen or cut off). ` +
        `The run goes on without it; this worker stops. Start it again with --join to rejoin the run.`,
      epoch,
    );
    if (this.proposal?.timer) clearTimeout(this.proposal.timer);
    this.proposal = undefined;
    this.host.fence(this.fenced);
    this.rejectWaiters(this.fenced);
  }

  private rejectWaiters(error: Error): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(error);
    }
    this.waiters.clear();
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
