// `gossamer doctor` on a machine without nats-server: the child's PATH holds only `node`.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, shown } from './cli.js';

interface DoctorJson {
  ok: boolean;
  problems: number;
  checks: { name: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix?: string }[];
}

const scratch = mkdtempSync(join(tmpdir(), 'gossamer-cli-doctor-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A directory to be the whole PATH: a symlink to this node, and the given executables. */
function pathDir(name: string, scripts: Record<string, string> = {}): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  symlinkSync(process.execPath, join(dir, 'node'));
  for (const [file, text] of Object.entries(scripts)) {
    writeFileSync(join(dir, file), text);
    chmodSync(join(dir, file), 0o755);
  }
  return dir;
}

/** Only what a minimal login has: no GOSSAMER_* settings that could point at a nats-server. */
function envWithPath(dir: string): NodeJS.ProcessEnv {
  return { PATH: dir, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR };
}

describe('gossamer doctor', () => {
  const bare = pathDir('bare');
  const options = { env: envWithPath(bare), node: join(bare, 'node') };

  it('reports a missing nats-server with the apt-get fix and exits non-zero', async () => {
    const result = await runCli(['doctor'], options);
    expect(result.code, shown(result)).toBe(1);
    expect(result.stdout).toMatch(/^FAIL nats-server +not found on PATH$/m);
    expect(result.stdout).toMatch(/^ +fix: install it: sudo apt-get install nats-server \(Debian\/Ubuntu\)/m);
    expect(result.stdout).toMatch(/^ok {3}node +v\d+\.\d+\.\d+$/m);
    expect(result.stdout).toMatch(/^[1-9]\d* problem\(s\): see the fixes above$/m);
  });

  it('--json says the same as one JSON object', async () => {
    const result = await runCli(['doctor', '--json'], options);
    expect(result.code, shown(result)).toBe(1);
    const report = JSON.parse(result.stdout) as DoctorJson;
    expect(report.ok).toBe(false);
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['node', 'nats-server', 'webgpu', 'swiftshader']));
    const nats = report.checks.find((c) => c.name === 'nats-server');
    expect(nats).toMatchObject({ status: 'fail', detail: 'not found on PATH' });
    expect(nats?.fix).toContain('apt-get install nats-server');
    expect(report.problems).toBe(report.checks.filter((c) => c.status === 'fail').length);
  });

  it('reports the version of a nats-server on PATH, and exits 0 exactly when nothing failed', async () => {
    const withNats = pathDir('with-nats', { 'nats-server': "#!/bin/sh\necho 'nats-server: v2.10.7'\n" });
    const result = await runCli(['doctor', '--json'], { env: envWithPath(withNats), node: join(withNats, 'node') });
    const report = JSON.parse(result.stdout) as DoctorJson;
    expect(report.checks.find((c) => c.name === 'nats-server'), shown(result)).toEqual({
      name: 'nats-server',
      status: 'ok',
      detail: `v2.10.7 (${join(withNats, 'nats-server')})`,
    });
    expect(report.ok).toBe(report.checks.every((c) => c.status !== 'fail'));
    expect(result.code).toBe(report.ok ? 0 : 1);
  });
});
