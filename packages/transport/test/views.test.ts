// The membership-view agreement (views.ts) on the in-process network: a crash leads every survivor
// to the same next view, operations of the old view fail with ViewChangedError, the new view starts
// at the highest round any survivor was in, and a minority cannot commit.
import { describe, expect, it } from 'vitest';
import { QuorumLostError, ViewChangedError, ViewKeeper, createInProcessNetwork, type MembershipView, type ViewHost, type ViewMessage } from '@gossamer/transport';

const ids = ['w0', 'w1', 'w2', 'w3'];

describe('membership views', () => {
  it('a crash: every survivor installs the same view, starting at the highest round reported', async () => {
    const network = createInProcessNetwork(ids);
    const [t0, t1, t2, t3] = network.transports;
    expect(t2.views.current()).toEqual({ epoch: 0, members: ids, startRound: 0 });
    t0.views.reportRound(7);
    t2.views.reportRound(8);
    t3.views.reportRound(7);
    // A view-aware receive from a live peer fails when the view changes; a view-agnostic one goes on.
    const aware = t2.receive('w3', { tensor: 1, round: 7 }, { viewEpoch: 0 });
    const agnostic = t0.receive('w3', { tensor: 1, round: 7 });
    const early = t0.receive('w3', { tensor: 1, round: 6 }, { viewEpoch: 0 });
    await t3.send('w0', { tensor: 1, round: 6 }, new Float32Array([3]), { viewEpoch: 0 });
    expect(Array.from(await early)).toEqual([3]);
    network.crash('w1');
    const views = await Promise.all([t0, t2, t3].map((t) => t.views.after(0)));
    for (const v of views) expect(v).toEqual({ epoch: 1, members: ['w0', 'w2', 'w3'], startRound: 8 });
    await expect(aware).rejects.toBeInstanceOf(ViewChangedError);
    expect(t0.views.changes()).toEqual([{ view: views[0], removed: ['w1'], added: [] }]);
    // Planned in the old view: refused. In the new one: delivered.
    await expect(t3.send('w0', { tensor: 1, round: 8 }, new Float32Array([1]), { viewEpoch: 0 })).rejects.toBeInstanceOf(ViewChangedError);
    const got = t0.receive('w3', { tensor: 1, round: 8 }, { viewEpoch: 1 });
    await t3.send('w0', { tensor: 1, round: 8 }, new Float32Array([5]), { viewEpoch: 1 });
    expect(Array.from(await got)).toEqual([5]);
    // A round redone in the new view may reuse a key already sent and received in the old one.
    const redone = t0.receive('w3', { tensor: 1, round: 6 }, { viewEpoch: 1 });
    await t3.send('w0', { tensor: 1, round: 6 }, new Float32Array([4]), { viewEpoch: 1 });
    expect(Array.from(await redone)).toEqual([4]);
    await t3.send('w0', { tensor: 1, round: 7 }, new Float32Array([2]));
    expect(Array.from(await agnostic)).toEqual([2]);
    // The removed worker is gone for view-aware peers.
    await expect(t0.send('w1', { tensor: 1, round: 9 }, new Float32Array([1]), { viewEpoch: 1 })).rejects.toThrow(/left the run/);
    void t1;
    await network.close();
  });

  it('the coordinator crashing too: the next lowest survivor leads, and an all-reduce over the new view is exact', async () => {
    const network = createInProcessNetwork([...ids, 'w4']);
    network.crash('w0');
    network.crash('w1');
    const survivors = network.transports;
    const views = await Promise.all(survivors.map((t) => t.views.after(0)));
    const last = views[0];
    for (const v of views) expect(v).toEqual(last);
    expect(last.members).toEqual(['w2', 'w3', 'w4']);
    const results = await Promise.all(
      survivors.map((t, i) => t.allReduce({ tensor: 0, round: 1 }, new Float32Array([i + 1]), { group: last.members, viewEpoch: last.epoch })),
    );
    for (const r of results) expect(r[0]).toBe(2);
    await network.close();
  });

  it('a minority cannot commit: it fails with QuorumLostError; quorum "any" lets it go on', async () => {
    const strict = createInProcessNetwork(ids, { views: { viewChangeTimeoutMs: 300 } });
    strict.crash('w0');
    strict.crash('w1');
    await expect(strict.transport('w2').views.after(0)).rejects.toBeInstanceOf(QuorumLostError);
    await strict.close();
    const lenient = createInProcessNetwork(ids, { views: { quorum: 'any', viewChangeTimeoutMs: 300 } });
    lenient.crash('w0');
    lenient.crash('w1');
    const v = await lenient.transport('w3').views.after(0);
    expect(v.members).toEqual(['w2', 'w3']);
    await lenient.close();
  });

  it('a worker left out of a committed view is fenced, and one that finished (done) changes no view', async () => {
    const network = createInProcessNetwork(ids);
    await network.transport('w3').close({ reason: 'done' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(network.transport('w0').views.current().epoch).toBe(0);
    await network.close();

    // Keepers wired by hand: w2 misses everything (frozen) until it hears a newer epoch.
    const bus: { from: string; m: ViewMessage }[] = [];
    const fenced: string[] = [];
    const host = (self: string): ViewHost => ({
      broadcast: (m) => bus.push({ from: self, m }),
      send: (_to, m) => bus.push({ from: self, m }), // an ack: every keeper but its proposer ignores it
      seal: () => {},
      install: () => {},
      fence: (e) => fenced.push(`${self}: ${e.message}`),
    });
    const first: MembershipView = { epoch: 0, members: ['a', 'b', 'c'], startRound: 0 };
    const a = new ViewKeeper('a', first, host('a'));
    const b = new ViewKeeper('b', first, host('b'));
    const c = new ViewKeeper('c', first, host('c'));
    a.suspect('c');
    b.suspect('c');
    for (let k = 0; k < bus.length; k++) for (const keeper of [a, b]) if (keeper.self !== bus[k].from) keeper.onMessage(bus[k].from, bus[k].m);
    expect(a.current()).toEqual({ epoch: 1, members: ['a', 'b'], startRound: 0 });
    expect(b.current()).toEqual(a.current());
    c.observeEpoch('b', 1);
    expect(fenced).toEqual([expect.stringMatching(/^c: c was removed from the run: b is in view 1/)]);
    await expect(c.after(0)).rejects.toThrow(/run goes on without it/);
    for (const k of [a, b, c]) k.close();
  });

  it('a restarted worker joins: the next view adds it (one joiner a change), from the highest round acknowledged', async () => {
    const bus: { from: string; m: ViewMessage }[] = [];
    const host = (self: string): ViewHost => ({ broadcast: (m) => bus.push({ from: self, m }), send: (_to, m) => bus.push({ from: self, m }), seal: () => {}, install: () => {}, fence: () => {} });
    const after1: MembershipView = { epoch: 1, members: ['a', 'b'], startRound: 4 };
    const a = new ViewKeeper('a', after1, host('a'));
    const b = new ViewKeeper('b', after1, host('b'));
    // Joiners start in a view of their own (epoch 0): the members' newer epochs do not fence them.
    const c = new ViewKeeper('c', { epoch: 0, members: ['c'], startRound: 0 }, host('c'));
    const d = new ViewKeeper('d', { epoch: 0, members: ['d'], startRound: 0 }, host('d'));
    const keepers = [a, b, c, d];
    const deliver = () => {
      for (let k = 0; k < bus.length; k++) for (const keeper of keepers) if (keeper.self !== bus[k].from) keeper.onMessage(bus[k].from, bus[k].m);
    };
    c.observeEpoch('a', 1);
    expect(c.fencedError).toBeUndefined();
    a.reportRound(9);
    b.reportRound(10);
    // b (not the coordinator) hearing the joins changes nothing; a (the coordinator) proposes.
    b.requestJoin('d');
    b.requestJoin('c');
    expect(bus).toEqual([]);
    a.requestJoin('d');
    a.requestJoin('c');
    deliver(); // the install of the first proposes the next joiner at once
    const third: MembershipView = { epoch: 3, members: ['a', 'b', 'c', 'd'], startRound: 10 };
    for (const k of keepers) expect(k.current()).toEqual(third);
    for (const k of [a, b]) {
      expect(k.changes().map((ch) => [ch.view.epoch, ch.view.startRound, ch.added])).toEqual([
        [2, 10, ['d']], // the first to ask; c's request waits for that commit
        [3, 10, ['c']],
      ]);
    }
    for (const k of keepers) k.close();
  });
  it('a joiner that does not ack in time: the members are unsealed by a view of themselves, and the joiner is added when it asks again', async () => {
    const bus: { from: string; m: ViewMessage }[] = [];
    const sealed: string[] = [];
    const host = (self: string): ViewHost => ({ broadcast: (m) => bus.push({ from: self, m }), send: (_to, m) => bus.push({ from: self, m }), seal: () => sealed.push(self), install: () => {}, fence: () => {} });
    const view1: MembershipView = { epoch: 1, members: ['a', 'b', 'c'], startRound: 4 };
    const ackTimeoutMs = 50;
    const [a, b, c] = ['a', 'b', 'c'].map((id) => new ViewKeeper(id, view1, host(id), { ackTimeoutMs, viewChangeTimeoutMs: 2000 }));
    const d = new ViewKeeper('d', { epoch: 0, members: ['d'], startRound: 0 }, host('d'), { ackTimeoutMs });
    const members = [a, b, c];
    let delivered = 0;
    const deliver = (to: ViewKeeper[]) => {
      for (; delivered < bus.length; delivered++) for (const k of to) if (k.self !== bus[delivered].from) k.onMessage(bus[delivered].from, bus[delivered].m);
    };
    a.reportRound(9);
    a.requestJoin('d');
    deliver(members); // d hears nothing: busy, or its ack is late
    for (const k of members) expect(k.sealed).toBe(true);
    const unsealed = Promise.all(members.map((k) => k.after(1)));
    // The members keep delivering (d still silent) until the ack timeout's next proposal commits.
    const pump = setInterval(() => deliver(members), 2);
    const views = await unsealed.finally(() => clearInterval(pump));
    for (const v of views) expect(v).toEqual({ epoch: 3, members: ['a', 'b', 'c'], startRound: 9 });
    for (const k of members) expect(k.sealed).toBe(false);
    // d repeats its request (every heartbeat): the coordinator proposes it again, and now it acks.
    a.requestJoin('d');
    deliver([...members, d]);
    deliver([...members, d]);
    for (const k of [...members, d]) expect(k.current()).toEqual({ epoch: 4, members: ['a', 'b', 'c', 'd'], startRound: 9 });
    expect(a.changes().map((ch) => [ch.view.epoch, ch.added, ch.removed])).toEqual([
      [3, [], []],
      [4, ['d'], []],
    ]);
    for (const k of [...members, d]) k.close();
  });
  it('a proposal or commit from a worker outside the view (delayed past a partition, its sender removed since) neither seals nor changes it', () => {
    const sealed: string[] = [];
    const sent: ViewMessage[] = [];
    const host: ViewHost = { broadcast: (m) => sent.push(m), send: (_to, m) => sent.push(m), seal: (e) => sealed.push(String(e)), install: () => {}, fence: () => {} };
    const view1: MembershipView = { epoch: 1, members: ['c', 'd', 'e'], startRound: 20 };
    const e = new ViewKeeper('e', view1, host);
    // a, on the minority side, proposed {a, b, e} (e not yet suspected there) before it was removed.
    e.onMessage('a', { step: 'propose', epoch: 2, proposer: 'a', members: ['a', 'b', 'e'] });
    e.onMessage('a', { step: 'commit', epoch: 2, proposer: 'a', members: ['a', 'b', 'e'], round: 25 });
    expect(e.sealed).toBe(false);
    expect(sealed).toEqual([]);
    expect(sent).toEqual([]); // no ack to a
    expect(e.current()).toEqual(view1);
    // The same proposal from the view's coordinator is accepted.
    e.onMessage('c', { step: 'propose', epoch: 2, proposer: 'c', members: ['c', 'd', 'e', 'f'] });
    expect(e.sealed).toBe(true);
    expect(sent).toEqual([{ step: 'ack', epoch: 2, proposer: 'c', round: 0 }]);
    e.close();
  });
  it('a joiner that no member answers (the run has ended, or is out of reach) fails with a message that says so', async () => {
    const host: ViewHost = { broadcast: () => {}, send: () => {}, seal: () => {}, install: () => {}, fence: () => {} };
    const joiner = new ViewKeeper('w2', { epoch: 0, members: ['w2'], startRound: 0 }, host, { viewChangeTimeoutMs: 50 });
    const error = await joiner.after(0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuorumLostError);
    expect(String(error)).toMatch(/w2 asked to join and no member added it within 50 ms: the run may have ended/);
    // A member alone in a view of several is told about the quorum instead.
    const member = new ViewKeeper('w0', { epoch: 0, members: ['w0', 'w1', 'w2'], startRound: 0 }, host, { viewChangeTimeoutMs: 50 });
    member.suspect('w1');
    member.suspect('w2');
    expect(String(await member.after(0).catch((e: unknown) => e))).toMatch(/strict majority/);
    joiner.close();
    member.close();
  });

  it('an ack of a proposal that arrives while a round is in flight waits for it, and says whether the round completed', () => {
    const bus: { from: string; m: ViewMessage }[] = [];
    const host = (self: string): ViewHost => ({ broadcast: (m) => bus.push({ from: self, m }), send: (_to, m) => bus.push({ from: self, m }), seal: () => {}, install: () => {}, fence: () => {} });
    const view: MembershipView = { epoch: 0, members: ['a', 'b', 'c'], startRound: 0 };
    const [a, b, c] = ['a', 'b', 'c'].map((id) => new ViewKeeper(id, view, host(id)));
    const deliver = () => {
      for (let k = 0; k < bus.length; k++) for (const keeper of [a, b]) if (keeper.self !== bus[k].from) keeper.onMessage(bus[k].from, bus[k].m);
      bus.length = 0;
    };
    // a and b are in round 5's communication; the last message of b's arrives with a's proposal.
    a.reportRound(5);
    b.reportRound(5);
    a.holdAcks();
    b.holdAcks();
    a.suspect('c');
    deliver();
    expect(b.sealed).toBe(true);
    expect(bus).toEqual([]); // b's ack waits
    b.reportRound(6); // its attempt completed after all
    b.releaseAcks();
    expect(bus).toEqual([{ from: 'b', m: { step: 'ack', epoch: 1, proposer: 'a', round: 6 } }]);
    deliver();
    expect(a.current().epoch).toBe(0); // a's own ack waits too
    a.releaseAcks(); // a's attempt failed (sealed): still in round 5
    deliver();
    for (const k of [a, b]) expect(k.current()).toEqual({ epoch: 1, members: ['a', 'b'], startRound: 6 });
    for (const k of [a, b, c]) k.close();
  });
});
