// The host test bed's own promises: hosts reach each other only over their links, a cut or a split
// takes effect, and whatever way its process ends (stop(), an uncaught exception, SIGKILL) nothing
// of it stays: a process that dies before it can clean up is swept by the next bed.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leftovers, startHostBed, sweepStaleBeds, type HostBed } from '../../infra/hostbed/hostbed.mjs';

const hostbed = resolve(__dirname, '../../infra/hostbed/hostbed.mjs');

/** Whether host `from` can open a TCP connection to host `to`'s NATS client port (1 s). */
async function reaches(bed: HostBed, from: number, to: number): Promise<boolean> {
  const probe = `require('net').connect(4222, '${bed.hosts[to].ip}').on('connect', () => process.exit(0)).on('error', () => process.exit(1)).setTimeout(1000, () => process.exit(2))`;
  const child = bed.exec(from, process.execPath, ['-e', probe]);
  return new Promise((done) => child.once('exit', (code) => done(code === 0)));
}

/** Runs a node script that makes a bed, prints its prefix, then ends as `end` says; resolves with the prefix. */
function bedInChild(end: 'throw' | 'hang'): Promise<{ prefix: string; pid: number; exited: Promise<void> }> {
  const script = `import('${hostbed}').then(async (m) => { const bed = await m.startHostBed({ hosts: 3 }); console.log(bed.prefix); ${end === 'throw' ? "setTimeout(() => { throw new Error('test failed'); }, 10);" : 'setInterval(() => {}, 1000);'} })`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return new Promise((done, fail) => {
    child.stdout.once('data', (d: Buffer) => done({ prefix: d.toString().trim(), pid: child.pid as number, exited }));
    child.once('exit', (code) => fail(new Error(`the bed's process exited (${code}) before making it`)));
  });
}

describe('host test bed', () => {
  it('hosts reach each other over their links only: a cut host reaches no one, a split keeps each side whole, heal restores all', async () => {
    const bed = await startHostBed({ hosts: 4 });
    try {
      expect(await reaches(bed, 0, 3)).toBe(true);
      bed.cut(3);
      expect(await reaches(bed, 0, 3)).toBe(false);
      expect(await reaches(bed, 3, 3)).toBe(true); // its own node is still there for its workers
      bed.restore(3);
      bed.split([[0, 1], [2, 3]]);
      expect(await Promise.all([reaches(bed, 0, 1), reaches(bed, 2, 3), reaches(bed, 1, 2), reaches(bed, 3, 0)])).toEqual([true, true, false, false]);
      bed.heal();
      expect(await reaches(bed, 1, 2)).toBe(true);
    } finally {
      await bed.stop();
    }
    expect(bed.leftovers()).toEqual([]);
  });

  it('an uncaught exception in the process that made a bed removes it (exit hook)', async () => {
    const { prefix, exited } = await bedInChild('throw');
    await exited;
    expect(leftovers(prefix)).toEqual([]);
  });

  it('a bed whose process was SIGKILLed is swept by the next one (sweepStaleBeds)', async () => {
    const { prefix, pid, exited } = await bedInChild('hang');
    process.kill(pid, 'SIGKILL');
    await exited;
    expect(leftovers(prefix).length).toBeGreaterThan(0); // its nats-servers and namespaces outlived it
    expect(sweepStaleBeds()).toContain(prefix);
    expect(leftovers(prefix)).toEqual([]);
  });
});
