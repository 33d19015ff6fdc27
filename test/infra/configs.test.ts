// Every nats-server config in infra/ parses and validates with `nats-server -t`.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testNatsConfig } from '../support/nats-cluster.js';
import { prepareSecure, REPO_ROOT, type SecureSetup } from '../support/nats-secure.js';
import { parseYamlDocuments, type YamlValue } from '../support/yaml.js';

const NATS_DIR = join(REPO_ROOT, 'infra', 'nats');

function confFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return confFiles(path);
    return name.endsWith('.conf') ? [path] : [];
  });
}

describe('nats-server -t on every config in infra/nats', () => {
  let secure: SecureSetup;
  beforeAll(() => {
    secure = prepareSecure({ run: 'r1', workers: ['w1', 'w2'] });
  });
  afterAll(() => secure?.remove());

  const files = confFiles(NATS_DIR).map((f) => relative(REPO_ROOT, f));

  it('finds the single, cluster, leaf and secure configs', () => {
    expect(files.sort()).toEqual(
      expect.arrayContaining([
        'infra/nats/single.conf',
        'infra/nats/cluster/node-a.conf',
        'infra/nats/cluster/node-b.conf',
        'infra/nats/cluster/node-c.conf',
        'infra/nats/leaf/hub.conf',
        'infra/nats/leaf/leaf.conf',
        'infra/nats/secure/server.conf',
      ]),
    );
  });

  it.each(files)('%s is valid', (file) => {
    // The secure config needs its generated auth.conf and certs beside it: test the prepared copy.
    const result = file.startsWith('infra/nats/secure/')
      ? testNatsConfig(join(secure.dir, relative('infra/nats/secure', file)), { cwd: secure.dir })
      : testNatsConfig(join(REPO_ROOT, file), { cwd: join(REPO_ROOT, file, '..') });
    expect(result.output).toContain('is valid');
    expect(result.ok, result.output).toBe(true);
  });

  it('the secure config is rejected without its generated files (so the check above means something)', () => {
    const result = testNatsConfig(join(NATS_DIR, 'secure', 'server.conf'), { cwd: join(NATS_DIR, 'secure', 'does-not-exist') });
    expect(result.ok).toBe(false);
  });

  it('max_payload is 1MB and a monitoring port is set in the single-server config', () => {
    const text = readFileSync(join(NATS_DIR, 'single.conf'), 'utf8');
    expect(text).toMatch(/^max_payload:\s*1MB$/m);
    expect(text).toMatch(/^http_port:\s*8222$/m);
  });

  it('browser workers have a websocket listener: plain ws:// in the single-server config, wss:// with the server certificate in the secure one', () => {
    const single = readFileSync(join(NATS_DIR, 'single.conf'), 'utf8');
    expect(single).toMatch(/^websocket \{\n  listen: 0\.0\.0\.0:8080\n  no_tls: true\n\}$/m);
    const secureText = readFileSync(join(NATS_DIR, 'secure', 'server.conf'), 'utf8');
    const ws = /^websocket \{\n([\s\S]*?)\n\}$/m.exec(secureText)?.[1];
    expect(ws).toBeDefined();
    expect(ws).not.toMatch(/no_tls/);
    expect(ws).toMatch(/cert_file: "\.\/certs\/server-cert\.pem"/);
    expect(ws).toMatch(/key_file: "\.\/certs\/server-key\.pem"/);
  });

  it('the secure websocket listener is checked for real: without its key nats-server -t fails', () => {
    // The prepared copy without the main tls block: only the websocket block then names the key, so a
    // failure is the websocket's TLS being loaded and checked. Written beside auth.conf (include is relative).
    const text = readFileSync(secure.config, 'utf8').replace(/^tls \{[\s\S]*?\n\}$/m, '');
    expect(text).not.toMatch(/^tls \{/m);
    const file = join(secure.dir, 'ws-only.conf');
    writeFileSync(file, text);
    const withKey = testNatsConfig(file, { cwd: secure.dir });
    expect(withKey.ok, withKey.output).toBe(true);
    writeFileSync(file, text.replaceAll('server-key.pem', 'missing-key.pem'));
    const withoutKey = testNatsConfig(file, { cwd: secure.dir });
    expect(withoutKey.ok).toBe(false);
    expect(withoutKey.output).toMatch(/missing-key/);
  });

  it('the Kubernetes ConfigMap holds a valid nats.conf', async () => {
    const docs = await parseYamlDocuments(readFileSync(join(REPO_ROOT, 'infra/k8s/nats-configmap.yaml'), 'utf8'));
    const cm = docs[0] as { data: Record<string, YamlValue> };
    const conf = cm.data['nats.conf'];
    expect(typeof conf).toBe('string');
    const dir = mkdtempSync(join(tmpdir(), 'gossamer-k8s-conf-'));
    try {
      writeFileSync(join(dir, 'nats.conf'), conf as string);
      const result = testNatsConfig(join(dir, 'nats.conf'), { cwd: dir, env: { POD_NAME: 'nats-0' } });
      expect(result.ok, result.output).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
