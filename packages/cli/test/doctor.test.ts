import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkNatsServer, checkNode, findExecutable } from '../src/commands/doctor.js';

const bin = mkdtempSync(join(tmpdir(), 'gossamer-doctor-unit-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

/** A stand-in nats-server that prints `output` for --version (absolute shebang: works with any PATH). */
function fakeNatsServer(name: string, output: string, exitCode = 0): string {
  const path = join(bin, name);
  writeFileSync(path, `#!/bin/sh\necho '${output}'\nexit ${exitCode}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('doctor checks', () => {
  it('node: accepts 20.19 and newer, says how to upgrade older ones', () => {
    expect(checkNode('20.19.0')).toEqual({ name: 'node', status: 'ok', detail: 'v20.19.0' });
    expect(checkNode('22.1.0').status).toBe('ok');
    const old = checkNode('20.11.1');
    expect(old.status).toBe('fail');
    expect(old.detail).toMatch(/too old.*20\.19/);
    expect(old.fix).toMatch(/install Node\.js 20/);
  });

  it('findExecutable: looks names up on PATH and takes paths as given', () => {
    const path = fakeNatsServer('nats-server', 'nats-server: v2.10.7');
    expect(findExecutable('nats-server', `/nonexistent:${bin}`)).toBe(path);
    expect(findExecutable('nats-server', '/nonexistent')).toBeUndefined();
    expect(findExecutable(path, undefined)).toBe(path);
    expect(findExecutable(join(bin, 'missing'), bin)).toBeUndefined();
  });

  it('nats-server: reports the version, or what is wrong with the apt-get fix', () => {
    fakeNatsServer('nats-server', 'nats-server: v2.10.7');
    expect(checkNatsServer({ PATH: bin })).toEqual({ name: 'nats-server', status: 'ok', detail: `v2.10.7 (${join(bin, 'nats-server')})` });

    const missing = checkNatsServer({ PATH: '/nonexistent' });
    expect(missing).toMatchObject({ status: 'fail', detail: 'not found on PATH' });
    expect(missing.fix).toContain('apt-get install nats-server');

    const old = fakeNatsServer('old-nats', 'nats-server version 1.4.1');
    expect(checkNatsServer({ PATH: '', GOSSAMER_NATS_SERVER: old })).toMatchObject({ status: 'fail', detail: expect.stringMatching(/v1\.4\.1 is too old/) });

    const broken = fakeNatsServer('broken-nats', 'segfault', 3);
    expect(checkNatsServer({ PATH: '', GOSSAMER_NATS_SERVER: broken })).toMatchObject({ status: 'fail', detail: expect.stringMatching(/did not run/) });

    expect(checkNatsServer({ PATH: bin, GOSSAMER_NATS_SERVER: join(bin, 'nope') })).toMatchObject({
      status: 'fail',
      detail: `${join(bin, 'nope')} (from GOSSAMER_NATS_SERVER) is not an executable`,
    });
  });
});
