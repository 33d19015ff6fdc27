// Run config files (Node only: the browser entry takes its config as JSON from the run).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { fail, type RunConfig } from './config.js';

/**
 * Reads a run config file: YAML when it is named *.yaml or *.yml, JSON otherwise (the run directory's
 * config.json is one). Fields left out take their defaults in resolveRunConfig.
 */
export async function loadRunConfig(path: string): Promise<Partial<RunConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  const yaml = /\.ya?ml$/i.test(path);
  let value: unknown;
  try {
    value = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new Error(`config file ${path} is not valid ${yaml ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`config file ${path} must hold one object of run settings (e.g. {"algo": "dsgd", "workers": 4}), not ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`);
  }
  // `$schema` points an editor at `gossamer schema`'s output; it is not a run setting.
  const { $schema: _schema, ...settings } = value as Record<string, unknown>;
  return settings as Partial<RunConfig>;
}

/**
 * Checks the files a run reads (a csv dataset) exist here, before any worker starts: a clear error
 * naming the field and path instead of a worker's bare ENOENT.
 */
export function checkRunConfigFiles(config: RunConfig, cwd = process.cwd()): void {
  if (config.dataset.kind !== 'csv') return;
  const path = resolvePath(cwd, config.dataset.path);
  if (!existsSync(path)) fail(`dataset.path: CSV file ${config.dataset.path} does not exist (looked for ${path})`, 'dataset.path');
}
