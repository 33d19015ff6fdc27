// infra/nats/secure: per-worker nkeys, publish permissions limited to the worker's own subjects, TLS.
// Keys and certificates are generated into a temp dir by the committed scripts, as a user would.
import { connect, nkeyAuthenticator, type NatsConnection, type Status } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, waitFor, type NatsServer } from '../support/nats-cluster.js';
import { prepareSecure, type SecureSetup } from '../support/nats-secure.js';

const RUN = 'r1';

describe('secure example: nkeys + permissions + TLS', () => {
  let setup: SecureSetup;
  let server: NatsServer;
  beforeAll(async () => {
    setup = prepareSecure({ run: RUN, workers: ['w1', 'w2'] });
    server = await startNatsServer({ config: setup.config, cwd: setup.dir });
  });
  afterAll(async () => {
    await server?.stop();
    setup?.remove();
  });

  const as = (user: string): Promise<NatsConnection> =>
    connect({
      servers: server.url,
      authenticator: nkeyAuthenticator(setup.seed(user)),
      tls: { caFile: setup.caFile },
      reconnect: false,
    });

  /** Collects the server errors a connection is told of (permission violations arrive this way). */
  function serverErrors(nc: NatsConnection): Error[] {
    const errors: Error[] = [];
    void (async () => {
      for await (const s of nc.status() as AsyncIterable<Status>) if (s.type === 'error') errors.push(s.error);
    })();
    return errors;
  }

  it('the scripts generated keys for w1, w2 and the coordinator, and a CA', () => {
    expect(setup.scriptOutput).toMatch(/worker\s+w1\s+U[A-Z2-7]{55}/);
    expect(setup.scriptOutput).toMatch(/worker\s+w2\s+U[A-Z2-7]{55}/);
    expect(setup.scriptOutput).toMatch(/coordinator\s+coordinator\s+U[A-Z2-7]{55}/);
    expect(setup.scriptOutput).toContain('ca.pem');
  });

  it('the server requires TLS and the connection uses it', async () => {
    const nc = await as('w1');
    try {
      expect(nc.info?.tls_required).toBe(true);
    } finally {
      await nc.close();
    }
    // A client that does not trust the generated CA cannot connect.
    await expect(
      connect({ servers: server.url, authenticator: nkeyAuthenticator(setup.seed('w1')), reconnect: false }),
    ).rejects.toThrow(/certificate/i);
  });

  it('rejects a client without credentials', async () => {
    await expect(connect({ servers: server.url, tls: { caFile: setup.caFile }, reconnect: false })).rejects.toThrow(
      /Authorization Violation/i,
    );
  });

  it("w1 publishes on its own subjects; publishing on w2's is rejected by NATS with a permissions error", async () => {
    const w1 = await as('w1');
    const w2 = await as('w2');
    const w1Errors = serverErrors(w1);
    try {
      const seen: string[] = [];
      const sub = w2.subscribe(`gossamer.${RUN}.>`, {
        callback: (_err, m) => {
          seen.push(`${m.subject}:${m.string()}`);
        },
      });
      await w2.flush();

      w1.publish(`gossamer.${RUN}.w1.params`, 'mine');
      w1.publish(`gossamer.${RUN}.w2.params`, 'forged');
      await w1.flush();
      await waitFor(() => w1Errors.length > 0 && seen.length > 0, 5000, 'expected a delivery and a permissions error');
      // Let anything else in flight arrive before checking nothing forged got through.
      await w1.flush();
      await w2.flush();

      expect(seen).toEqual([`gossamer.${RUN}.w1.params:mine`]);
      expect(w1Errors).toHaveLength(1);
      const err = w1Errors[0] as Error & { operation?: string; subject?: string };
      expect(err.name).toBe('PermissionViolationError');
      expect(err.operation).toBe('publish');
      expect(err.subject).toBe(`gossamer.${RUN}.w2.params`);
      expect(err.message).toMatch(/Permissions Violation for Publish to "gossamer\.r1\.w2\.params"/);
      // The violation does not close the connection: w1 keeps working on its own subjects.
      expect(w1.isClosed()).toBe(false);
      sub.unsubscribe();
    } finally {
      await Promise.all([w1.close(), w2.close()]);
    }
  });

  it('a worker cannot subscribe outside its run, nor publish outside gossamer.<run>.<id>', async () => {
    const w1 = await as('w1');
    const errors = serverErrors(w1);
    try {
      w1.subscribe('gossamer.other-run.>');
      w1.publish('gossamer.other-run.w1.params', 'x');
      w1.publish('_INBOX.anything', 'x');
      await w1.flush();
      await waitFor(() => errors.length >= 3, 5000, `expected 3 permission errors, got ${errors.map((e) => e.message).join('; ')}`);
      const text = errors.map((e) => e.message).join('\n');
      expect(text).toMatch(/Permissions Violation for Subscription to "gossamer\.other-run\.>"/);
      expect(text).toMatch(/Permissions Violation for Publish to "gossamer\.other-run\.w1\.params"/);
      expect(text).toMatch(/Permissions Violation for Publish to "_INBOX\.anything"/);
    } finally {
      await w1.close();
    }
  });

  it('request/reply works across workers (replies allowed by allow_responses), and the coordinator may publish for any worker', async () => {
    const w1 = await as('w1');
    const w2 = await as('w2');
    const coordinator = await as('coordinator');
    const errors = [...serverErrors(w1), ...serverErrors(w2)];
    try {
      w2.subscribe(`gossamer.${RUN}.w1.hello`, {
        callback: (_err, m) => {
          m.respond(`w2 got ${m.string()}`);
        },
      });
      await w2.flush();
      const reply = await w1.request(`gossamer.${RUN}.w1.hello`, 'hi', { timeout: 3000 });
      expect(reply.string()).toBe('w2 got hi');

      const got = w1.subscribe(`gossamer.${RUN}.w2.control`, { max: 1 });
      await w1.flush();
      coordinator.publish(`gossamer.${RUN}.w2.control`, 'stop');
      for await (const m of got) expect(m.string()).toBe('stop');
      expect(got.getProcessed()).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await Promise.all([w1.close(), w2.close(), coordinator.close()]);
    }
  });
});
