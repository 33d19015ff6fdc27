// Failure detection on a ring (docs/elastic.md "Failure detection"): who sends heartbeats to whom,
// and which silent peers this worker may judge.
//
// Why a ring: a heartbeat from every worker to every worker is n² deliveries a second, which falls
// behind at a few hundred workers on one machine. Here the members, in their sorted order, form a
// ring; each sends its heartbeat to the next `fanout` members only, so each is watched by the
// `fanout` members before it (its monitors). Traffic is O(fanout) per worker. With n ≤ fanout + 1
// every member watches every other, exactly as all-to-all. A monitor that judges a peer gone tells
// everyone (a suspicion notice); a worker never judges a peer it does not watch, since it hears
// from a non-neighbour only when that one sends it data.
//
// Two kinds of peer are watched besides the ring predecessors:
// - outsiders: workers not in the view that broadcast their heartbeats (a worker asking to join,
//   or alone in its own view), heard by everyone, so everyone may judge them as before;
// - nobody else. The sender side adds its data peers to its heartbeat targets (NatsTransport), so
//   that a sender knows its receiver is running before it probes it; that is not monitoring.

/** Heartbeat targets per worker when the option is not given. */
export const DEFAULT_HEARTBEAT_FANOUT = 4;

/** Where `self` sits on the ring of `members` (sorted, self included). */
export interface RingPlace {
  /** The members `self` sends its heartbeat to: the next `fanout` after it, in ring order. */
  readonly targets: readonly string[];
  /** The members `self` watches: the `fanout` before it (nearest first). */
  readonly watched: readonly string[];
}

/** The ring place of `self` among `members`; all the others both ways when n ≤ fanout + 1. */
export function ringPlace(members: readonly string[], self: string, fanout: number): RingPlace {
  const at = members.indexOf(self);
  const n = members.length;
  if (at < 0 || n <= 1) return { targets: [], watched: [] };
  const k = Math.min(fanout, n - 1);
  const targets: string[] = [];
  const watched: string[] = [];
  for (let j = 1; j <= k; j++) {
    targets.push(members[(at + j) % n]);
    watched.push(members[(at - j + n) % n]);
  }
  return { targets, watched };
}

/** One worker's side of ring monitoring: what to send, whom to judge, and since when. */
export class HeartbeatMonitor {
  private place: RingPlace = { targets: [], watched: [] };
  /** Watched peer → when this worker started watching it (a new neighbour is given time to find us). */
  private readonly since = new Map<string, number>();
  /** Outsider → when first heard broadcasting (see the file comment). */
  private readonly outsiders = new Map<string, number>();
  /** Members this worker judged gone: its notice is repeated until a view without them (one may be lost). */
  private readonly accused = new Set<string>();
  private ringKey = '';

  constructor(
    readonly self: string,
    readonly fanout: number,
  ) {
    if (!Number.isInteger(fanout) || fanout < 1) throw new RangeError(`heartbeat fanout ${fanout}: expected an integer ≥ 1`);
  }

  /**
   * Places this worker on the ring over `members` (sorted, self included). A peer watched from now
   * on is judged only from `now`: its own heartbeats to us start when it, too, has moved to this
   * ring (a view installs at slightly different times on different workers).
   */
  update(members: readonly string[], now: number): void {
    const key = members.join('\n');
    if (key === this.ringKey) return;
    this.ringKey = key;
    this.place = ringPlace(members, this.self, this.fanout);
    const watched = new Set(this.place.watched);
    for (const peer of [...this.since.keys()]) if (!watched.has(peer)) this.since.delete(peer);
    for (const peer of watched) if (!this.since.has(peer)) this.since.set(peer, now);
    for (const peer of [...this.outsiders.keys()]) if (members.includes(peer)) this.outsiders.delete(peer);
  }

  /** Whom this worker sends its heartbeat to. */
  get targets(): readonly string[] {
    return this.place.targets;
  }

  /** Whom this worker judges by silence: its ring predecessors, then the outsiders. */
  watched(): string[] {
    return [...this.since.keys(), ...this.outsiders.keys()];
  }

  /** True if this worker judges `peer` by its silence. */
  watches(peer: string): boolean {
    return this.since.has(peer) || this.outsiders.has(peer);
  }

  /** `peer`, outside the ring, broadcast a heartbeat (or a join): everyone hears it, so it is watched. */
  heardOutsider(peer: string, now: number): void {
    if (peer === this.self || this.since.has(peer) || this.outsiders.has(peer)) return;
    this.outsiders.set(peer, now);
  }

  /** `peer` is gone (left, or judged): it is no longer watched as an outsider. */
  forget(peer: string): void {
    this.outsiders.delete(peer);
  }

  /** This worker judged `peers` gone and tells everyone so. */
  accuse(peers: readonly string[]): void {
    for (const p of peers) this.accused.add(p);
  }

  /** Whom this worker still accuses: each view drops those it no longer holds (dropAccusations). */
  accusations(): string[] {
    return [...this.accused];
  }

  /**
   * Forgets the accused that are no longer members (`isMember`), at each view install: a later view
   * that re-adds the id (a restarted process) must not inherit the accusation of its predecessor.
   */
  dropAccusations(isMember: (peer: string) => boolean): void {
    for (const p of [...this.accused]) if (!isMember(p)) this.accused.delete(p);
  }

  /**
   * The watched peers silent longer than their timeout. `heard` gives when a peer was last heard
   * (undefined: not a member now, or never heard yet, so not judged).
   */
  overdue(now: number, heard: (peer: string) => number | undefined, timeoutOf: (peer: string) => number): string[] {
    const late: string[] = [];
    const check = (peer: string, since: number) => {
      const last = heard(peer);
      if (last !== undefined && now - Math.max(last, since) > timeoutOf(peer)) late.push(peer);
    };
    for (const [peer, since] of this.since) check(peer, since);
    for (const [peer, since] of this.outsiders) check(peer, since);
    return late;
  }
}
