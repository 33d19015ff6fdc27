// Membership and failure detection. Join at start (to everyone, each member answering with a
// heartbeat to the newcomer alone), Leave at close. Heartbeats go every `heartbeatIntervalMs` to the
// next `heartbeatFanout` members of the view's ring only (monitor.ts), so their traffic is
// O(fanout) per worker, not O(n); a worker also beats the peers it is receiving from, whose probes
// wait to hear it. Only a peer's monitors judge its silence: one silent for `peerTimeoutMs` is
// declared gone (reason 'timeout'), which fails every pending operation with it, and the monitor
// broadcasts a SUSPECT notice (repeated with each beat until a view without it), on which every
// worker declares it gone too and the coordinator proposes the view without it. While this worker's
// own connection is down, or just after its event loop stalled, it judges no one.
import { ViewStep, WorkerState, type Capabilities, type EnvelopeBodies } from '@gossamer/wire';
import { PeerLeftError, TransportUsageError } from '../errors.js';
import { HeartbeatMonitor } from '../monitor.js';
import type { LeaveKind, MembershipEvent } from '../types.js';
import { MembershipStream, sortedIds } from '../util.js';
import type { MembershipView, ViewKeeper } from '../views.js';
import type { NatsSettings } from './options.js';
import type { Publisher } from './publisher.js';

const SOFTWARE_VERSION = '0.1.0';

/** What membership needs to know of the rest of the transport. */
export interface LivenessHost {
  isClosed(): boolean;
  /** This worker's own connection to the server is down. */
  isDisconnected(): boolean;
  /** A round trip to the server (rejects when disconnected or closed). */
  flush(): Promise<void>;
  /** The round of this worker's latest exchange. */
  round(): number;
  /** Transfers are under way (the heartbeat's state). */
  exchanging(): boolean;
  /** The peers this worker is receiving a tensor from. */
  receivingFrom(): Iterable<string>;
  /** Fails every pending operation with `peer`, which has left. */
  failWith(peer: string, reason: LeaveKind): void;
}

export class Liveness {
  private readonly known = new Map<string, number>(); // member → last time heard from (ms)
  /** Member → the highest envelope seq heard from its current process (restarted()). */
  private readonly lastSeq = new Map<string, number>();
  /** Member → the incarnation its Join gave (restarted()). */
  private readonly incarnations = new Map<string, number>();
  /** This process's incarnation: random and nonzero (proto Join.incarnation). */
  private readonly incarnation = 1 + Math.floor(Math.random() * 0xfffffffe);
  private readonly peerIntervals = new Map<string, number>(); // member → its heartbeat period (ms)
  private readonly departed = new Map<string, LeaveKind>();
  /** Who this worker sends heartbeats to and whom it judges (monitor.ts). */
  private readonly monitor: HeartbeatMonitor;
  /** The ring must be placed again (a view installed, a member finished or came back). */
  private ringStale = true;
  /** The current view's members, for lookups. */
  private viewMembers: ReadonlySet<string>;
  /** Removed worker → when it was last told so (tellRemoved()). */
  private readonly toldRemoved = new Map<string, number>();
  private readonly events = new MembershipStream();
  private lastTick = 0;
  /** When this worker's event loop last came back from a stall (see tick()). */
  private awakeSince = 0;
  /** A round trip to the server is under way before silent peers are judged (see confirmSilence()). */
  private confirmingSilence = false;

  /**
   * @param joining asking to join a run in progress, until a view with this worker is installed.
   */
  constructor(
    private readonly id: string,
    private readonly link: Publisher,
    private readonly views: ViewKeeper,
    private readonly settings: NatsSettings,
    private readonly capabilities: Capabilities,
    public joining: boolean,
    private readonly host: LivenessHost,
  ) {
    this.viewMembers = new Set(views.current().members);
    this.monitor = new HeartbeatMonitor(id, settings.heartbeatFanout);
  }

  // ---- who is a member --------------------------------------------------------------------------

  /** This worker and every peer it counts as live, sorted. */
  members(): string[] {
    return sortedIds([this.id, ...this.known.keys()]);
  }

  membership(): AsyncIterable<MembershipEvent> {
    return this.events.iterate(sortedIds(this.known.keys()).map((worker) => ({ kind: 'joined', worker })));
  }

  isKnown(peer: string): boolean {
    return this.known.has(peer);
  }

  /** When `peer` was last heard from (ms), if it is a member. */
  lastHeard(peer: string): number | undefined {
    return this.known.get(peer);
  }

  /** `peer` is in the current view. */
  inView(peer: string): boolean {
    return this.viewMembers.has(peer);
  }

  /** Throws unless `peer` is a live member this worker can exchange with. */
  ensurePeer(peer: string): void {
    if (peer === this.id) throw new TransportUsageError(`${this.id} cannot exchange with itself`);
    if (this.known.has(peer)) return;
    const left = this.departed.get(peer);
    if (left !== undefined) throw new PeerLeftError(`${peer} left the run (${left})`, peer, left);
    throw new TransportUsageError(`${peer} is not a member of the run`, peer);
  }

  admit(peer: string): void {
    this.known.set(peer, performance.now());
    if (this.departed.get(peer) === 'done') this.ringStale = true;
    this.departed.delete(peer);
    this.events.emit({ kind: 'joined', worker: peer });
  }

  /** A valid message (envelope `seq`) from member `sender` arrived; `broadcastOutsider`: a heartbeat or join to all from outside the view. */
  heard(sender: string, seq: number, now: number, broadcastOutsider: boolean): void {
    this.known.set(sender, now);
    if (seq > (this.lastSeq.get(sender) ?? 0)) this.lastSeq.set(sender, seq);
    // Outside the view and broadcasting (a joiner, or a worker alone in its view): heard by all, judged by all.
    if (broadcastOutsider) this.monitor.heardOutsider(sender, now);
  }

  /**
   * A Join from a member that is a new process with its id, restarted (with --join) before the old
   * one's death was detected: it gives another incarnation than the member's Join did, or it is a
   * first message (seq 1) after this worker heard a later one of that member (for a member whose Join
   * this worker never heard: it started before this worker joined). Seq 1 alone proves nothing: the
   * view that adds a joiner may be installed here before its Join arrives (the commit and the Join
   * come from different publishers).
   */
  restarted(sender: string, seq: number, incarnation: number): boolean {
    const known = this.incarnations.get(sender);
    if (known !== undefined && incarnation !== 0) return incarnation !== known;
    return seq === 1 && (this.lastSeq.get(sender) ?? 0) > 1;
  }

  /** `peer` restarted (restarted()): its old process is gone, for this worker and, by notice, for all. */
  retire(peer: string): void {
    this.peerGone(peer, 'error');
    this.accuse([peer]);
  }

  onHeartbeat(sender: string, intervalMs: number): void {
    this.peerIntervals.set(sender, intervalMs);
  }

  /** A Join from a member: let the newcomer learn about us now (it may have subscribed after our own Join), to it alone, since every member answers every Join. */
  onJoin(sender: string, incarnation: number): void {
    if (incarnation !== 0) this.incarnations.set(sender, incarnation);
    this.beat([sender]);
  }

  peerGone(peer: string, reason: LeaveKind): void {
    if (reason !== 'done') this.views.suspect(peer);
    if (!this.known.delete(peer)) return;
    this.forgetProcess(peer);
    this.departed.set(peer, reason);
    this.monitor.forget(peer);
    // A finished member sends no more heartbeats: the ring closes over it, so that the members it
    // watched get another monitor. A failed one stays on the ring until the view without it.
    if (reason === 'done') this.ringStale = true;
    this.host.failWith(peer, reason);
    this.events.emit({ kind: 'left', worker: peer, reason });
  }

  /** What told `peer`'s process apart: the next one with its id starts afresh. */
  private forgetProcess(peer: string): void {
    this.lastSeq.delete(peer);
    this.incarnations.delete(peer);
  }

  /** A view was installed: its members are the live ones; the others have left (timeout). */
  install(view: MembershipView): void {
    this.joining = false;
    this.viewMembers = new Set(view.members);
    this.monitor.dropAccusations((p) => this.viewMembers.has(p));
    this.ringStale = true; // the ring is the view's: placed again at the next tick
    // A member that finished ('done') stays in views (views.ts) but not among the live peers.
    for (const peer of view.members) if (peer !== this.id && !this.known.has(peer) && this.departed.get(peer) !== 'done') this.admit(peer);
    for (const peer of [...this.known.keys()]) {
      if (this.viewMembers.has(peer)) continue;
      this.known.delete(peer);
      this.forgetProcess(peer);
      this.monitor.forget(peer);
      if (!this.departed.has(peer)) this.departed.set(peer, 'timeout');
      // Most workers never judged it themselves (only its monitors did): what waits on it fails now.
      this.host.failWith(peer, 'timeout');
      this.events.emit({ kind: 'left', worker: peer, reason: 'timeout' });
    }
  }

  /** Back from a reconnect: peers could not be heard while we were cut off, so they are judged afresh from now. */
  reconnected(now: number): void {
    for (const peer of this.known.keys()) this.known.set(peer, now);
    this.heartbeat();
  }

  end(): void {
    this.events.end();
  }

  // ---- heartbeats ---------------------------------------------------------------------------------

  announce(): void {
    this.link.toAll('join', { capabilities: this.capabilities, softwareVersion: SOFTWARE_VERSION, resumeRound: 0, incarnation: this.incarnation });
  }

  /** Every heartbeat interval. */
  heartbeat(): void {
    if (this.host.isClosed()) return;
    if (this.joining) this.announce(); // a request the coordinator missed (or suspected) is asked again
    this.placeRing();
    if (this.views.current().members.length <= 1) {
      // Alone in its view (asking to join, or a run of one so far): nobody has it on a ring, so it
      // tells everyone, as every worker did before ring monitoring.
      this.beat(undefined);
    } else {
      // Its monitors, and the peers it is receiving from: a sender probes a receiver only once it
      // has heard from it (sender.ts), and a receiver off the sender's ring would never be heard.
      const to = new Set(this.monitor.targets);
      for (const from of this.host.receivingFrom()) if (this.known.has(from)) to.add(from);
      this.beat(to);
    }
    this.repeatSuspicions();
  }

  /** Sends one heartbeat to each of `to`, or to everyone (undefined). */
  private beat(to: Iterable<string> | undefined): void {
    const body: EnvelopeBodies['heartbeat'] = {
      round: this.host.round(),
      state: this.host.exchanging() ? WorkerState.WORKER_STATE_EXCHANGING : WorkerState.WORKER_STATE_TRAINING,
      intervalMs: this.settings.heartbeatIntervalMs,
    };
    if (to === undefined) this.link.toAll('heartbeat', body);
    else for (const peer of to) this.link.toPeer(peer, 'heartbeat', body);
  }

  /** Places this worker on the ring of the view's members, less those that finished (if anything changed). */
  private placeRing(): void {
    if (!this.ringStale) return;
    this.ringStale = false;
    this.monitor.update(
      this.views.current().members.filter((m) => this.departed.get(m) !== 'done'),
      performance.now(),
    );
  }

  // ---- suspicion notices (monitor.ts: only a worker's monitors hear it, so they tell the rest) --------

  /** This worker judged `peers` gone: tells every worker, so the coordinator (views.ts) learns it at once. */
  private accuse(peers: readonly string[]): void {
    const members = peers.filter((p) => this.viewMembers.has(p));
    this.monitor.accuse(members);
    this.notice(members);
  }

  /** Repeats the notice (with each heartbeat) until a view without the accused: one may have been lost. */
  private repeatSuspicions(): void {
    this.notice(this.monitor.accusations());
  }

  private notice(peers: readonly string[]): void {
    if (peers.length === 0 || this.views.fencedError) return;
    this.link.toAll('viewChange', {
      step: ViewStep.VIEW_STEP_SUSPECT,
      epoch: this.views.current().epoch + 1,
      proposer: this.id,
      members: sortedIds(peers),
      round: this.host.round(),
    });
  }

  /**
   * `peer`, removed from the view, still sends in an old one: it missed the commit (lost, e.g. in a
   * server restart while it was frozen). Members no longer beat it (it is off their ring), so nothing
   * else would tell it: a heartbeat, whose newer epoch fences it (views.ts), at most once a beat.
   */
  tellRemoved(peer: string): void {
    const now = performance.now();
    if (now - (this.toldRemoved.get(peer) ?? -Infinity) < this.settings.heartbeatIntervalMs) return;
    if (this.toldRemoved.size >= 1024) this.toldRemoved.clear();
    this.toldRemoved.set(peer, now);
    this.beat([peer]);
  }

  /**
   * A member judged `peers` gone, proposing view `epoch` without them: gone for this worker too
   * (failing what waits on them), and suspected. A notice for a view this worker has passed is
   * stale: the accused may since have been removed and a new process with its id added. Ignoring it
   * loses nothing, since an accuser repeats its notice with each beat, for its newest view.
   */
  onSuspicion(peers: readonly string[], epoch: number): void {
    if (epoch <= this.views.current().epoch) return;
    for (const peer of peers) {
      // This worker accused (alive, so wrongly): nothing to do, the next view fences it.
      if (peer === this.id || !this.viewMembers.has(peer)) continue;
      if (this.known.has(peer)) this.peerGone(peer, 'timeout');
      else this.views.suspect(peer);
    }
  }

  // ---- judging silence ----------------------------------------------------------------------------

  startClock(now: number): void {
    this.lastTick = this.awakeSince = now;
  }

  /** Every tick (`tickMs`): notes a stall of this worker's own event loop, and judges silent peers. */
  tick(now: number, tickMs: number): void {
    // A stall of this worker's own event loop (CPU starvation, a long computation, GC) is not its
    // peers' silence: timers run before pending input is read, and peers in this same process could
    // not send either. After a stall of a quarter of the peer timeout or more, peers are given a
    // heartbeat interval and a half of running time before they are judged again.
    if (now - this.lastTick - tickMs > Math.max(tickMs, this.settings.peerTimeoutMs / 4)) this.awakeSince = now;
    this.lastTick = now;
    if (!this.host.isDisconnected() && !this.confirmingSilence) {
      const silent = this.silentPeers(now);
      if (silent.length > 0) void this.confirmSilence(silent);
    }
  }

  /**
   * The peers this worker watches (monitor.ts) that have been silent past the peer timeout, unless
   * this worker itself has only just come back from a stall (see tick()).
   */
  private silentPeers(now: number): string[] {
    this.placeRing();
    return this.monitor
      .overdue(now, (peer) => this.known.get(peer), () => this.settings.peerTimeoutMs)
      .filter((peer) => now - this.awakeSince > 1.5 * this.intervalOf(peer));
  }

  /** A peer's heartbeat period: the one it announced, else ours. */
  intervalOf(peer: string): number {
    return this.peerIntervals.get(peer) ?? this.settings.heartbeatIntervalMs;
  }

  /**
   * Declares the `suspects` gone (reason 'timeout') if they are still silent after a round trip to
   * the server: its PONG comes after every message it sent us before, so heartbeats waiting unread
   * (behind a backlog of chunks, or in the socket while this worker was busy) are counted first. No
   * verdict while the round trip does not complete (a frozen server, a lost connection): as while
   * disconnected, peers are only judged on what this worker could hear.
   */
  private async confirmSilence(suspects: readonly string[]): Promise<void> {
    this.confirmingSilence = true;
    try {
      await this.host.flush();
    } catch {
      return; // disconnected or closed meanwhile: judged afresh after the reconnect, or never
    } finally {
      this.confirmingSilence = false;
    }
    if (this.host.isClosed() || this.host.isDisconnected()) return;
    const still = new Set(this.silentPeers(performance.now()));
    const gone = suspects.filter((peer) => still.has(peer));
    for (const peer of gone) this.peerGone(peer, 'timeout');
    this.accuse(gone);
  }
}
