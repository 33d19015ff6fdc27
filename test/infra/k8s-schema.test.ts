// The Kubernetes manifests of infra/k8s against the Kubernetes API's own schemas: every document is
// loaded into its model from `kubernetes-models` (JSON schemas generated from the Kubernetes OpenAPI
// spec, checked with ajv) and validated. What this does not catch: unknown fields (the API schemas
// allow them; a misspelt key passes), and anything only a cluster knows (images, admission, quotas).
// test/infra/deploy.test.ts checks the wiring between the files on top of this.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/nats-secure.js';
import { parseYamlDocuments, type YamlValue } from '../support/yaml.js';

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: Record<string, unknown>) => Validatable;

/** The model class of apiVersion/kind: kubernetes-models/<group>/<version>/<Kind> ('v1' is the core group). */
async function modelOf(apiVersion: string, kind: string): Promise<ModelClass> {
  const path = `kubernetes-models/${apiVersion}/${kind}`;
  const module = (await import(/* @vite-ignore */ path)) as Record<string, unknown>;
  const model = module[kind];
  if (typeof model !== 'function') throw new Error(`${path} has no model ${kind}`);
  return model as ModelClass;
}

async function validate(doc: YamlValue): Promise<void> {
  const { apiVersion, kind } = doc as { apiVersion: string; kind: string };
  const Model = await modelOf(apiVersion, kind);
  new Model(doc as Record<string, unknown>).validate();
}

const K8S_DIR = join(REPO_ROOT, 'infra', 'k8s');
const manifests = readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');

describe('infra/k8s against the Kubernetes API schemas (kubernetes-models)', () => {
  it.each(manifests)('%s: every document is a valid object of its kind', async (file) => {
    const docs = await parseYamlDocuments(readFileSync(join(K8S_DIR, file), 'utf8'), file);
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) await expect(validate(doc), `${file}: ${(doc as { kind: string }).kind}`).resolves.toBeUndefined();
  });

  it('kustomization.yaml (not a cluster object, so no API schema) lists exactly these files', async () => {
    const [k] = (await parseYamlDocuments(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8'))) as { resources: string[] }[];
    expect([...k.resources].sort()).toEqual([...manifests].sort());
  });

  it('the validator rejects what the API server would (so the checks above mean something)', async () => {
    const [deployment] = await parseYamlDocuments(readFileSync(join(K8S_DIR, 'worker-deployment.yaml'), 'utf8'));
    const broken = structuredClone(deployment) as { spec: { replicas: unknown; selector?: unknown } };
    broken.spec.replicas = 'four';
    await expect(validate(broken as unknown as YamlValue)).rejects.toThrow(/replicas must be integer/);
    delete broken.spec.selector;
    broken.spec.replicas = 4;
    await expect(validate(broken as unknown as YamlValue)).rejects.toThrow(/required property 'selector'|selector/);
  });
});
