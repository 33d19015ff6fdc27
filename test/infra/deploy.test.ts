// infra/docker and infra/k8s cannot run here (no Docker daemon, no cluster): they are parsed as YAML
// and checked for the wiring that breaks silently (file paths, names, selectors, routes, ports).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/nats-secure.js';
import { parseYamlDocuments, type YamlValue } from '../support/yaml.js';

type Obj = { [key: string]: YamlValue };

function obj(value: YamlValue | undefined, what: string): Obj {
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${what}: expected a mapping, got ${JSON.stringify(value)}`);
  }
  return value;
}
function list(value: YamlValue | undefined, what: string): YamlValue[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected a list, got ${JSON.stringify(value)}`);
  return value;
}
function at(value: YamlValue | undefined, path: string): YamlValue | undefined {
  let v = value;
  for (const key of path.split('.')) {
    if (v === null || v === undefined || typeof v !== 'object') return undefined;
    v = Array.isArray(v) ? v[Number(key)] : v[key];
  }
  return v;
}
async function load(rel: string): Promise<YamlValue[]> {
  return parseYamlDocuments(readFileSync(join(REPO_ROOT, rel), 'utf8'), rel);
}

describe('infra/docker/docker-compose.yml', () => {
  const composeDir = join(REPO_ROOT, 'infra/docker');
  let compose: Obj;
  beforeAll(async () => {
    const docs = await load('infra/docker/docker-compose.yml');
    expect(docs).toHaveLength(1);
    compose = obj(docs[0], 'compose file');
  });

  it('has three NATS nodes, each mounting an existing cluster config whose routes name the other services', () => {
    const services = obj(compose.services, 'services');
    expect(Object.keys(services).sort()).toEqual(['nats-a', 'nats-b', 'nats-c', 'worker']);
    for (const name of ['nats-a', 'nats-b', 'nats-c']) {
      const svc = obj(services[name], name);
      expect(String(svc.image)).toMatch(/^nats:2\.\d+/);
      expect(svc.command).toEqual(['-c', '/etc/nats/nats.conf']);
      const volumes = list(svc.volumes, `${name}.volumes`).map(String);
      const mount = volumes.find((v) => v.split(':')[1] === '/etc/nats/nats.conf');
      expect(mount, `${name} mounts /etc/nats/nats.conf`).toBeDefined();
      const hostPath = resolve(composeDir, (mount as string).split(':')[0]);
      expect(existsSync(hostPath), hostPath).toBe(true);
      const conf = readFileSync(hostPath, 'utf8');
      expect(conf).toContain(`server_name: ${name}`);
      const routed = [...conf.matchAll(/nats-route:\/\/([a-z0-9-]+):6222/g)].map((m) => m[1]).sort();
      expect(routed).toEqual(['nats-a', 'nats-b', 'nats-c'].filter((n) => n !== name));
      expect(at(svc, 'healthcheck.test')).toContain('http://127.0.0.1:8222/healthz');
    }
    // Distinct host ports.
    const published = ['nats-a', 'nats-b', 'nats-c'].flatMap((n) => list(at(services, `${n}.ports`), n).map((p) => String(p).split(':')[0]));
    expect(new Set(published).size).toBe(published.length);
  });

  it('runs workers as `gossamer worker --nats <all three nodes> --run ID`, built from the Dockerfile', () => {
    const worker = obj(obj(compose.services, 'services').worker, 'worker');
    const build = obj(worker.build, 'worker.build');
    const context = resolve(composeDir, String(build.context));
    expect(context).toBe(REPO_ROOT);
    expect(existsSync(join(context, String(build.dockerfile)))).toBe(true);
    const command = list(worker.command, 'worker.command').map(String);
    expect(command[0]).toBe('worker');
    const nats = command[command.indexOf('--nats') + 1];
    expect(nats.split(',')).toEqual(['nats://nats-a:4222', 'nats://nats-b:4222', 'nats://nats-c:4222']);
    expect(command[command.indexOf('--run') + 1]).toMatch(/^\$\{GOSSAMER_RUN:-[a-z0-9-]+\}$/);
    expect(Object.keys(obj(worker.depends_on, 'depends_on')).sort()).toEqual(['nats-a', 'nats-b', 'nats-c']);
    expect(String(at(worker, 'deploy.replicas'))).toMatch(/^\$\{GOSSAMER_WORKERS:-\d+\}$/);
  });

  it('the Dockerfile builds the CLI on Debian with Node 20 and ships SwiftShader + the Vulkan loader', () => {
    const dockerfile = readFileSync(join(composeDir, 'Dockerfile'), 'utf8');
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThan(0);
    for (const image of froms) expect(image).toMatch(/^node:20-bookworm/);
    expect(dockerfile).toMatch(/apt-get install[^\n]*\n?[^\n]*chromium[^\n]*libvulkan1/);
    expect(dockerfile).toMatch(/ENTRYPOINT .*packages\/cli\/dist\/bin\.js/);
    // The CLI entry point it runs is the one the cli package declares.
    const cli = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/cli/package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(join('packages/cli', cli.bin.gossamer)).toBe('packages/cli/dist/bin.js');
    // The BuildKit ignore file keeps generated secrets out of the image.
    const ignore = readFileSync(join(composeDir, 'Dockerfile.dockerignore'), 'utf8');
    for (const secret of ['infra/nats/secure/certs', 'infra/nats/secure/nkeys', 'infra/nats/secure/auth.conf']) {
      expect(ignore).toContain(secret);
    }
  });
});

describe('infra/k8s manifests', () => {
  const files = ['namespace.yaml', 'nats-configmap.yaml', 'nats-statefulset.yaml', 'worker-deployment.yaml'];
  let resources: Obj[];
  const find = (kind: string, name: string): Obj => {
    const found = resources.find((r) => r.kind === kind && at(r, 'metadata.name') === name);
    if (!found) throw new Error(`no ${kind} ${name}`);
    return found;
  };
  beforeAll(async () => {
    resources = (await Promise.all(files.map((f) => load(`infra/k8s/${f}`)))).flat().map((d, i) => obj(d, `document ${i}`));
  });

  it('kustomization.yaml lists every manifest, and every manifest has apiVersion, kind and a name', async () => {
    const [kustomization] = await load('infra/k8s/kustomization.yaml');
    expect(list(at(kustomization, 'resources'), 'resources')).toEqual(files);
    for (const r of resources) {
      expect(typeof r.apiVersion).toBe('string');
      expect(typeof r.kind).toBe('string');
      expect(typeof at(r, 'metadata.name')).toBe('string');
      if (r.kind !== 'Namespace') expect(at(r, 'metadata.namespace')).toBe('gossamer');
    }
    expect(resources.map((r) => `${r.kind}/${String(at(r, 'metadata.name'))}`).sort()).toEqual([
      'ConfigMap/nats-config',
      'Deployment/gossamer-worker',
      'Namespace/gossamer',
      'Service/nats',
      'Service/nats-client',
      'StatefulSet/nats',
    ]);
  });

  it('the StatefulSet is governed by a headless Service, and its ConfigMap routes name each of its pods', () => {
    const sts = find('StatefulSet', 'nats');
    const headless = find('Service', String(at(sts, 'spec.serviceName')));
    expect(at(headless, 'spec.clusterIP')).toBe('None');
    expect(at(headless, 'spec.publishNotReadyAddresses')).toBe(true);
    const podLabels = obj(at(sts, 'spec.template.metadata.labels'), 'pod labels');
    expect(podLabels).toMatchObject(obj(at(sts, 'spec.selector.matchLabels'), 'selector'));
    expect(podLabels).toMatchObject(obj(at(headless, 'spec.selector'), 'service selector'));
    expect(podLabels).toMatchObject(obj(at(find('Service', 'nats-client'), 'spec.selector'), 'client selector'));

    const replicas = Number(at(sts, 'spec.replicas'));
    expect(replicas).toBe(3);
    const conf = obj(at(find('ConfigMap', 'nats-config'), 'data'), 'ConfigMap data')['nats.conf'];
    if (typeof conf !== 'string') throw new Error('ConfigMap nats-config has no nats.conf');
    const routes = [...conf.matchAll(/nats-route:\/\/([^\s,\]]+)/g)].map((m) => m[1]);
    const ns = String(at(sts, 'metadata.namespace'));
    expect(routes).toEqual(
      Array.from({ length: replicas }, (_, i) => `nats-${i}.${String(at(headless, 'metadata.name'))}.${ns}.svc.cluster.local:6222`),
    );

    const container = obj(at(sts, 'spec.template.spec.containers.0'), 'nats container');
    const ports = list(container.ports, 'ports').map((p) => [at(p, 'name'), at(p, 'containerPort')]);
    expect(ports).toEqual([
      ['client', 4222],
      ['cluster', 6222],
      ['monitor', 8222],
      ['websocket', 8080],
    ]);
    // Browser workers: the config listens where the container port and the client Service point.
    expect(conf).toMatch(/websocket \{\s*listen: 0\.0\.0\.0:8080\b/);
    const client = list(at(find('Service', 'nats-client'), 'spec.ports'), 'client Service ports').map((p) => [at(p, 'name'), at(p, 'targetPort')]);
    expect(client).toContainEqual(['websocket', 'websocket']);
    // server_name comes from $POD_NAME, which the pod sets from its own name.
    expect(conf).toContain('server_name: $POD_NAME');
    expect(at(container, 'env.0')).toEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    // The config volume is the ConfigMap, mounted where the args point.
    const volume = list(at(sts, 'spec.template.spec.volumes'), 'volumes').find((v) => at(v, 'name') === 'config');
    expect(at(volume, 'configMap.name')).toBe('nats-config');
    const mount = list(container.volumeMounts, 'mounts').find((m) => at(m, 'name') === 'config');
    expect(list(container.args, 'args').join(' ')).toBe(`-c ${String(at(mount, 'mountPath'))}/nats.conf`);
    expect(at(container, 'readinessProbe.httpGet.port')).toBe('monitor');
  });

  it('the worker Deployment runs `gossamer worker` against the client Service', () => {
    const deployment = find('Deployment', 'gossamer-worker');
    expect(obj(at(deployment, 'spec.template.metadata.labels'), 'labels')).toMatchObject(
      obj(at(deployment, 'spec.selector.matchLabels'), 'selector'),
    );
    const container = obj(at(deployment, 'spec.template.spec.containers.0'), 'worker container');
    const args = list(container.args, 'args').map(String);
    expect(args[0]).toBe('worker');
    const url = new URL(args[args.indexOf('--nats') + 1]);
    const [serviceName, namespace] = url.hostname.split('.');
    const service = find('Service', serviceName);
    expect(namespace).toBe(at(service, 'metadata.namespace'));
    expect(list(at(service, 'spec.ports'), 'ports').map((p) => at(p, 'port'))).toContain(Number(url.port));
    // --run $(GOSSAMER_RUN) must name an env var the container defines.
    const run = args[args.indexOf('--run') + 1];
    const envVar = /^\$\((\w+)\)$/.exec(run)?.[1];
    expect(envVar).toBeDefined();
    expect(list(container.env, 'env').map((e) => at(e, 'name'))).toContain(envVar);
  });
});
