// The chaos benchmark's quick variant, as `gossamer bench --only chaos --quick` runs it: six worker
// processes over a real nats-server, one kill -9, one SIGSTOP past the timeout, one server restart,
// and every failed worker restarted with --join. Its claims are checked on its own JSON.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { ChaosSummary } from '../src/bench/chaos.js';

const bin = resolve(__dirname, '../dist/bin.js');
const PEER_TIMEOUT_MS = 2000;

describe('chaos benchmark (quick)', () => {
  it('every fault is detected within the timeout and an agreement, every failed worker comes back, and the run ends as accurate as without faults', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gossamer-chaos-bench-'));
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'bench', '--only', 'chaos', '--quick', '--out', out], { timeout: 280_000 });
    expect(stdout).toMatch(/faults survived\s+3/);
    const s = (JSON.parse(readFileSync(join(out, 'chaos.json'), 'utf8')) as { results: ChaosSummary }).results;
    expect(s.completed).toBe(true);
    expect(s.faults.map((f) => f.kind)).toEqual(['kill', 'freeze', 'server-restart']);
    expect(s.survived).toBe(3);
    for (const f of s.faults.filter((x) => x.kind !== 'server-restart')) {
      // Detection: the peer timeout, then one agreement (bounded by the ack timeout), plus slack.
      expect(f.detectionMs, `${f.kind} of ${f.worker}`).toBeLessThan(2 * PEER_TIMEOUT_MS + 4000);
      expect(f.recoveryMs, `${f.kind} of ${f.worker}`).toBeGreaterThan(f.detectionMs as number);
    }
    // Removals and returns of two workers: at least three view changes (one change may remove a
    // frozen worker and add back a restarted one at once).
    expect(s.viewChanges).toBeGreaterThanOrEqual(3);
    expect(s.roundsLost).toBeGreaterThan(0);
    expect(s.roundsLost).toBeLessThan(s.workers * s.rounds);
    expect(s.mergedAccuracy as number).toBeGreaterThan((s.faultFreeAccuracy as number) - 0.05);
  }, 300_000); // about a minute alone; much more next to the rest of the suite
});
