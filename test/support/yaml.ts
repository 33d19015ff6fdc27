// YAML parsing for tests that check the docker-compose file and Kubernetes manifests.
// Uses the `yaml` npm package when it is installed; until it is a dependency of the repository, it
// falls back to Python's PyYAML (python3 -c 'import yaml'). With neither, it throws saying so.
import { spawnSync } from 'node:child_process';

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

interface YamlModule {
  parseAllDocuments(text: string, options: { merge: boolean }): { errors: readonly Error[]; toJS(): unknown }[];
}

async function loadYamlPackage(): Promise<YamlModule | undefined> {
  const name = 'yaml'; // not a literal import: the package is optional
  try {
    return (await import(/* @vite-ignore */ name)) as YamlModule;
  } catch {
    return undefined;
  }
}

function parseWithPython(text: string, source: string): YamlValue[] {
  const script =
    'import json, sys, yaml\n' +
    'docs = [d for d in yaml.safe_load_all(sys.stdin.read()) if d is not None]\n' +
    'sys.stdout.write(json.dumps(docs))\n';
  const result = spawnSync('python3', ['-c', script], { input: text, encoding: 'utf8', timeout: 10_000 });
  if (result.error || result.status !== 0) {
    throw new Error(
      `cannot parse ${source}: no YAML parser (npm package \`yaml\` not installed; python3 PyYAML: ` +
        `${result.error?.message ?? result.stderr.trim()})`,
    );
  }
  return JSON.parse(result.stdout) as YamlValue[];
}

/** Parses every document of a YAML stream (empty documents dropped); throws on a syntax error. */
export async function parseYamlDocuments(text: string, source = 'YAML'): Promise<YamlValue[]> {
  const yaml = await loadYamlPackage();
  if (!yaml) return parseWithPython(text, source);
  const docs = yaml.parseAllDocuments(text, { merge: true }); // `<<:` merge keys, as docker compose reads them
  const errors = docs.flatMap((d) => d.errors);
  if (errors.length > 0) throw new Error(`${source}: ${errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJS() as YamlValue).filter((d) => d !== null);
}
