// Sets up infra/nats/secure in a temp dir the way its README says: make-certs.sh, gen-nkeys.mjs,
// server.conf beside them. Keys are generated fresh for each test run and deleted afterwards.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const SECURE_DIR = join(REPO_ROOT, 'infra', 'nats', 'secure');

export interface SecureSetup {
  /** Where server.conf, auth.conf, certs/ and nkeys/ are; start nats-server with this cwd. */
  readonly dir: string;
  readonly config: string;
  /** The CA certificate clients trust. */
  readonly caFile: string;
  /** The nkey seed of a user (w1, w2, ..., coordinator). */
  seed(user: string): Uint8Array;
  /** Output of the two scripts. */
  readonly scriptOutput: string;
  remove(): void;
}

export function prepareSecure(options: { run: string; workers: readonly string[] }): SecureSetup {
  const dir = mkdtempSync(join(tmpdir(), 'gossamer-secure-'));
  try {
    // The websocket listener on a free loopback port, not 0.0.0.0:8443: test files run in parallel.
    const config = readFileSync(join(SECURE_DIR, 'server.conf'), 'utf8');
    if (!config.includes('listen: 0.0.0.0:8443')) throw new Error('infra/nats/secure/server.conf: its websocket listen line changed; update prepareSecure');
    writeFileSync(join(dir, 'server.conf'), config.replace('listen: 0.0.0.0:8443', 'listen: "127.0.0.1:-1"'));
    const certs = execFileSync('bash', [join(SECURE_DIR, 'make-certs.sh'), join(dir, 'certs')], { encoding: 'utf8' });
    const keys = execFileSync(
      process.execPath,
      [join(SECURE_DIR, 'gen-nkeys.mjs'), '--run', options.run, '--workers', options.workers.join(','), '--out', dir],
      { encoding: 'utf8' },
    );
    return {
      dir,
      config: join(dir, 'server.conf'),
      caFile: join(dir, 'certs', 'ca.pem'),
      seed: (user) => new TextEncoder().encode(readFileSync(join(dir, 'nkeys', `${user}.nk`), 'utf8').trim()),
      scriptOutput: certs + keys,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
