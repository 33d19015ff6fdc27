// The Network Lasso problem spec's schema (zod), next to the run config's: `train --algo netlasso`
// checks the spec and the files it names before it spawns a worker, and every netlasso-worker checks
// it again before building the problem. `gossamer schema --problem` prints it as JSON Schema.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { choices, shown } from '@gossamer/worker';

type Issue = { input?: unknown };
const says = (what: string) => (iss: Issue) => `must be ${what}, got ${shown(iss.input)}`;
const positiveInt = (d: string) => z.int({ error: says('a positive integer') }).min(1, { error: says('a positive integer') }).describe(d);
const probability = (d: string) => z.number({ error: says('a number in [0, 1]') }).min(0, { error: says('a number in [0, 1]') }).max(1, { error: says('a number in [0, 1]') }).describe(d);
const nonNegative = (d: string) => z.number({ error: says('a non-negative number') }).min(0, { error: says('a non-negative number') }).describe(d);
const positive = (d: string) => z.number({ error: says('a positive number') }).positive({ error: says('a positive number') }).describe(d);
const path = (d: string) => z.string({ error: says('a file path') }).min(1, { error: says('a file path') }).describe(d);

const LOSSES = ['squared', 'ridge', 'logistic', 'squaredHinge', 'smoothedHinge', 'ocsvm'] as const;
const lossSchema = z
  .discriminatedUnion(
    'kind',
    [
      z.object({ kind: z.literal('squared') }),
      z.object({ kind: z.literal('ridge'), mu: nonNegative('ridge penalty μ') }),
      z.object({ kind: z.literal('logistic'), mu: nonNegative('L2 penalty μ'), scale: positive('loss scale').optional() }),
      z.object({ kind: z.literal('squaredHinge'), mu: nonNegative('L2 penalty μ'), scale: positive('loss scale').optional() }),
      z.object({ kind: z.literal('smoothedHinge'), mu: nonNegative('L2 penalty μ'), scale: positive('loss scale').optional(), smoothing: positive('smoothing').optional() }),
      z.object({ kind: z.literal('ocsvm'), nu: probability('ν, the outlier fraction'), smoothing: positive('smoothing').optional() }),
    ],
    { error: (iss: Issue) => `${shown((iss.input as { kind?: unknown } | undefined)?.kind)} is unknown; use ${choices(LOSSES)}` },
  )
  .describe('the nodes\' loss');

const graph = {
  nodes: positiveInt('nodes of the graph'),
  groups: positiveInt('clusters (contiguous groups of nodes)'),
  pIn: probability('edge probability inside a group'),
  pOut: probability('edge probability between groups'),
  dim: positiveInt('dimension d of each node\'s variable'),
  seed: z.int({ error: says('an integer') }).describe('generator seed'),
  noise: nonNegative('noise level (default 1)').optional(),
  connected: z.boolean().describe('resample until connected (default true)').optional(),
};

/** The forms of NetlassoProblemSpec (packages/algorithms/src/netlasso/spec.ts); extra fields pass. */
export const problemSpecSchema = z
  .union([
    z.looseObject({ generator: z.literal('clustered-quadratic'), ...graph }),
    z.looseObject({ generator: z.literal('clustered-samples'), ...graph, trainPerNode: positiveInt('training samples per node'), testPerNode: positiveInt('test samples per node').optional(), loss: lossSchema }),
    z.looseObject({ nodesCsv: path('nodes CSV, relative to the spec file'), edgesCsv: path('edges CSV, relative to the spec file'), loss: lossSchema, name: z.string().optional() }),
    z.looseObject({ json: path('problem document (JSON), relative to the spec file') }),
    z.looseObject({ loss: lossSchema, nodes: z.array(z.unknown()), edges: z.array(z.unknown()), name: z.string().optional() }),
  ])
  .describe('A Network Lasso problem spec (gossamer train --algo netlasso --problem <file>)');

const GENERATOR_FORMS: Record<string, number> = { 'clustered-quadratic': 0, 'clustered-samples': 1 };

/**
 * Checks a parsed spec document against the form it claims (by its keys), and that the files it
 * names exist next to `specFile`. Throws an Error naming the field and what it may be.
 */
export function checkProblemSpec(spec: unknown, specFile: string): void {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new Error('expected a JSON object (a generator, nodesCsv/edgesCsv, json, or a problem document)');
  const s = spec as Record<string, unknown>;
  // The form a spec means, by its keys, so the error is about that form rather than "no union member".
  const forms = problemSpecSchema.options;
  const form =
    'generator' in s
      ? forms[GENERATOR_FORMS[String(s.generator)] ?? -1]
      : 'nodesCsv' in s || 'edgesCsv' in s
        ? forms[2]
        : 'json' in s
          ? forms[3]
          : 'nodes' in s || 'edges' in s
            ? forms[4]
            : undefined;
  if ('generator' in s && form === undefined) throw new Error(`generator ${shown(s.generator)} is unknown; use ${choices(Object.keys(GENERATOR_FORMS))}`);
  if (form === undefined) throw new Error('no known form: give "generator", "nodesCsv" and "edgesCsv", "json", or "nodes" and "edges"');
  const result = form.safeParse(s);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue.path.map(String).join('.');
    throw new Error(`${field} ${issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message}`);
  }
  const base = dirname(resolve(specFile));
  for (const key of ['nodesCsv', 'edgesCsv', 'json']) {
    const file = s[key];
    if (typeof file !== 'string') continue;
    const full = isAbsolute(file) ? file : resolve(base, file);
    if (!existsSync(full)) throw new Error(`${key}: file ${file} does not exist (looked for ${full})`);
  }
}

/** The problem spec's JSON Schema (draft 2020-12), for editors. */
export function problemSpecJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(problemSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
