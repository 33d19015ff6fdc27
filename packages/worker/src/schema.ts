// The run config's schema (zod): the one place that says what each field may be. resolveRunConfig
// checks every config with it (flags, files, a resumed run's config.json, a remote worker's copy),
// and `gossamer schema` prints it as JSON Schema for editors. The string grammars (topology,
// schedule, merge, model, ...) are checked by the parsers the run itself uses, so the launcher
// refuses what a worker would refuse, before any process starts.
import { z } from 'zod';
import { gossipTopology, parseOuterMomentumClip, parseSchedule, parseStalenessPenalty, type FinalMerge } from '@gossamer/algorithms';
import { validateRobustRule, type RobustRule } from '@gossamer/kernels';
import { parseModelSpec } from '@gossamer/model';

/** A run config that breaks the schema: `field` is its path (e.g. `optimizer.lr`), the message names it too. */
export class RunConfigError extends Error {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`run config: ${detail}`);
    this.name = 'RunConfigError';
  }
}

/** A value as the messages show it: numbers as typed (NaN, not JSON's null), the rest as JSON. */
export function shown(v: unknown): string {
  return typeof v === 'number' || v === undefined ? String(v) : JSON.stringify(v);
}

/** "a, b or c" */
export function choices(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}

type Issue = { input?: unknown };
const says = (what: string) => (iss: Issue) => `must be ${what}, got ${shown(iss.input)}`;

const positiveInt = (description: string) => z.int({ error: says('a positive integer') }).min(1, { error: says('a positive integer') }).describe(description);
const nonNegativeInt = (description: string, note = '') =>
  z.int({ error: says(`a non-negative integer${note}`) }).min(0, { error: says(`a non-negative integer${note}`) }).describe(description);
const positive = (description: string) => z.number({ error: says('a positive number') }).positive({ error: says('a positive number') }).describe(description);
const nonNegative = (description: string) => z.number({ error: says('a non-negative number') }).min(0, { error: says('a non-negative number') }).describe(description);
const unitInterval = (description: string) =>
  z.number({ error: says('in [0, 1)') }).min(0, { error: says('in [0, 1)') }).lt(1, { error: says('in [0, 1)') }).describe(description);
const openUnit = (description: string) =>
  z.number({ error: says('in (0, 1)') }).gt(0, { error: says('in (0, 1)') }).lt(1, { error: says('in (0, 1)') }).describe(description);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T, description: string) =>
  z.enum(values, { error: (iss: Issue) => `${shown(iss.input)} is unknown; use ${choices(values)}` }).describe(description);

/** A grammar string: `check` throws (the parser's own message) for a value the run would refuse. */
const grammar = (description: string, check: (text: string) => void) =>
  z.string({ error: says('a string') }).describe(description).superRefine((text, ctx) => {
    try {
      check(text);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof RunConfigError ? e.detail : (e as Error).message, input: text });
    }
  });

/** `constant` or `cosine[:<warmup steps>]`, parsed; throws for anything else. */
export function parseLrSchedule(text: string | undefined): { kind: 'constant' } | { kind: 'cosine'; warmupSteps: number } {
  if (text === undefined || text === 'constant') return { kind: 'constant' };
  const m = /^cosine(?::(\d+))?$/.exec(text);
  if (!m) throw new RunConfigError('lrSchedule', `lrSchedule must be constant or cosine[:<warmup steps>], got ${JSON.stringify(text)}`);
  return { kind: 'cosine', warmupSteps: m[1] === undefined ? 0 : Number(m[1]) };
}

/** The batcher's augmentation for `none` or `shift:<max pixels>` (undefined: none); throws for anything else. */
export function augmentOf(text: string | undefined): { maxShift: number } | undefined {
  if (text === undefined || text === 'none') return undefined;
  const m = /^shift:(\d+)$/.exec(text);
  if (!m) throw new RunConfigError('augment', `augment must be none or shift:<max pixels> (e.g. shift:2), got ${JSON.stringify(text)}`);
  return { maxShift: Number(m[1]) };
}

/**
 * DP-SGD settings: per-example clip norm C with a fixed noise multiplier σ, or with a target (ε, δ)
 * budget from which σ is found (by @gossamer/privacy's noiseForEpsilon, once q and the step count are
 * known).
 */
export type DpSpec =
  | { kind: 'noise'; clip: number; noise: number }
  | { kind: 'budget'; clip: number; epsilon: number; delta: number };

const DP_GRAMMAR = 'clip:<C>,noise:<σ> or epsilon:<ε>,delta:<δ>,clip:<C>';
const dpValue = {
  clip: z.number().positive().finite(),
  noise: z.number().positive().finite(),
  epsilon: z.number().positive().finite(),
  delta: z.number().gt(0).lt(1),
} as const;
const DP_WHAT: Record<keyof typeof dpValue, string> = {
  clip: 'a positive clip norm',
  noise: 'a positive noise multiplier (σ = 0 is no privacy)',
  epsilon: 'a positive, finite ε',
  delta: 'a δ in (0, 1)',
};

/** `clip:C,noise:σ` or `epsilon:ε,delta:δ,clip:C` (keys in any order), parsed; throws for anything else. */
export function parseDpSpec(text: string): DpSpec {
  const fail: (why: string) => never = (why) => {
    throw new RunConfigError('dp', `dp "${text}": ${why}; use ${DP_GRAMMAR} (e.g. clip:1,noise:1.1)`);
  };
  const got: Partial<Record<keyof typeof dpValue, number>> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([a-z]+)\s*:\s*(\S+)\s*$/.exec(part);
    if (!m) fail(`"${part}" is not key:value`);
    const key = m[1]!;
    if (!Object.hasOwn(dpValue, key)) fail(`unknown key "${key}"`);
    const k = key as keyof typeof dpValue;
    if (got[k] !== undefined) fail(`${k} given twice`);
    const parsed = dpValue[k].safeParse(m[2]!.trim() === '' ? Number.NaN : Number(m[2]));
    if (!parsed.success) fail(`${k} must be ${DP_WHAT[k]}, got ${m[2]}`);
    got[k] = parsed.data;
  }
  const budget = got.epsilon !== undefined || got.delta !== undefined;
  if (budget && got.noise !== undefined) fail('give noise or an (ε, δ) budget, not both');
  const missing = (budget ? (['epsilon', 'delta', 'clip'] as const) : (['clip', 'noise'] as const)).filter((k) => got[k] === undefined);
  if (missing.length > 0) fail(`missing ${missing.join(' and ')}`);
  return budget
    ? { kind: 'budget', clip: got.clip!, epsilon: got.epsilon!, delta: got.delta! }
    : { kind: 'noise', clip: got.clip!, noise: got.noise! };
}

/** The final merge: none, exact or gossip:K (default: exact after a final-merge schedule, else none). */
export function parseMerge(text: string | undefined, finalMergeSchedule: boolean): FinalMerge {
  if (text === undefined) return finalMergeSchedule ? { kind: 'exact' } : { kind: 'none' };
  if (text === 'none' || text === 'exact') return { kind: text };
  const m = /^gossip:(\d+)$/.exec(text);
  if (m) return { kind: 'gossip', rounds: Number(m[1]) };
  throw new Error(`merge "${text}": use none, exact or gossip:K`);
}

const ROBUST_GRAMMAR = 'none | nna:<f> | trimmed-mean:<f> | median | geomed[:<iterations>] | clip:<τ>';

/**
 * D-SGD's robust mixing rule (kernels' robust.ts) from `none`, `nna:f`, `trimmed-mean:f`, `median`,
 * `geomed[:T]` or `clip:τ` (undefined: plain gossip averaging); throws for anything else. Whether f
 * fits a worker's degree is checked where the degree is known (the kernel, at the first mix).
 */
export function parseRobust(text: string | undefined): RobustRule | undefined {
  if (text === undefined || text === 'none') return undefined;
  if (text === 'median') return { kind: 'median' };
  const [kind, arg, ...rest] = text.split(':');
  const bad = (why: string) => new Error(`robust "${text}": ${why}; use ${ROBUST_GRAMMAR}`);
  if (rest.length > 0) throw bad('too many parts');
  const int = (what: string, min: number) => {
    if (arg === undefined || !/^\d+$/.test(arg) || Number(arg) < min) throw bad(`${what} must be an integer ≥ ${min}`);
    return Number(arg);
  };
  switch (kind) {
    case 'nna':
      return { kind: 'nna', f: int('f', 0) };
    case 'trimmed-mean':
      return { kind: 'trimmed-mean', f: int('f', 0) };
    case 'geomed':
      return arg === undefined ? { kind: 'geomed' } : { kind: 'geomed', iterations: int('iterations', 1) };
    case 'clip': {
      const tau = arg === undefined || arg.trim() === '' ? Number.NaN : arg === 'inf' ? Infinity : Number(arg);
      if (!(tau >= 0)) throw bad('τ must be a number ≥ 0 (or inf)');
      return { kind: 'clip', tau };
    }
    default:
      throw bad('unknown rule');
  }
}

/** The rule, or undefined for none and for a spec the field's own grammar check refuses. */
function robustOrUndefined(text: string): RobustRule | undefined {
  try {
    return parseRobust(text);
  } catch {
    return undefined;
  }
}

/** Fills in `:n` for topology specs given without a size (`ring` → `ring:8`; `torus` → a near-square torus). */
export function topologyFor(spec: string, n: number): string {
  if (spec.includes(':')) return spec;
  if (spec === 'torus') {
    let rows = Math.floor(Math.sqrt(n));
    while (n % rows !== 0) rows--;
    return `torus:${rows}x${n / rows}`;
  }
  return `${spec}:${n}`;
}

const ALGORITHMS = ['local', 'dsgd', 'allreduce', 'co2', 'localsgd', 'slowmo'] as const;

const datasetSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({
      kind: z.literal('mnist'),
      testSize: positiveInt('test samples to use (default: all 10000)').optional(),
      normalization: oneOf(['none', 'standard'], 'pixel scaling').optional(),
    }),
    z.object({
      kind: z.literal('blobs'),
      samples: positiveInt('samples of the synthetic Gaussian blobs'),
      classes: positiveInt('classes (blobs)'),
      features: positiveInt('features per sample'),
      separation: positive('distance between the blob centres').optional(),
      testFraction: openUnit('share of the samples held out for testing').optional(),
    }),
    z.object({
      kind: z.literal('csv'),
      path: z.string().min(1, { error: 'must name a CSV file' }).describe('CSV file, read by every worker (relative to its working directory)'),
      label: z.union([z.string(), z.int()], { error: says('a column name or index (-1: the last)') }).describe('label column: name or index (-1: the last)'),
      testFraction: openUnit('share of the rows held out for testing').optional(),
    }),
  ],
  { error: (iss: Issue) => `${shown((iss.input as { kind?: unknown } | undefined)?.kind)} is unknown; use mnist, blobs or csv` },
).describe('training data: mnist | blobs | csv');

const partitionSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('iid'), seed: nonNegativeInt('split seed (default: the run seed)').optional() }),
    z.object({
      kind: z.literal('dirichlet'),
      alpha: positive('Dir(α) concentration: small α, skewed label mixes'),
      seed: nonNegativeInt('split seed (default: the run seed)').optional(),
      minSamplesPerWorker: nonNegativeInt('every worker gets at least this many samples').optional(),
      balance: z.boolean().optional(),
      maxDraws: positiveInt('whole-partition redraws tried before repairing').optional(),
    }),
    z.object({ kind: z.literal('shards'), shardsPerWorker: positiveInt('shards (distinct labels at most) per worker'), seed: nonNegativeInt('split seed').optional() }),
  ],
  { error: (iss: Issue) => `${shown((iss.input as { kind?: unknown } | undefined)?.kind)} is unknown; use iid, dirichlet or shards` },
).describe('how the training set is split across workers');

const lr = nonNegative('learning rate');
const weightDecay = nonNegative('decoupled weight decay (adamw) or L2 penalty (sgd, momentum)').optional();
const optimizerSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('sgd'), lr, weightDecay }),
    z.object({
      kind: z.literal('momentum'),
      lr,
      momentum: unitInterval('momentum coefficient μ').optional(),
      dampening: unitInterval('dampening').optional(),
      weightDecay,
      nesterov: z.boolean().optional(),
    }),
    z.object({
      kind: z.literal('adamw'),
      lr,
      beta1: unitInterval('β1').optional(),
      beta2: unitInterval('β2').optional(),
      eps: positive('ε').optional(),
      weightDecay,
    }),
  ],
  { error: (iss: Issue) => `${shown((iss.input as { kind?: unknown } | undefined)?.kind)} is unknown; use sgd, momentum or adamw` },
).describe('optimizer and its hyper-parameters');

/** Rejects fields a run would silently ignore (a typo), listing the known ones. */
const unknownField = (known: () => string[]) => (iss: { code?: string; keys?: string[] }) =>
  iss.code === 'unrecognized_keys' ? `unknown field (known: ${known().join(', ')})` : undefined;

const outerShape = {
  alpha: z.number({ error: says('a number') }).describe('outer learning rate α (default 1)').optional(),
  beta: unitInterval('outer momentum β (default 0.2)').optional(),
  penalty: grammar('co2 staleness penalty: none | constant:<λ> | gap:<κ>[:<ε>]', (t) => void parseStalenessPenalty(t)).optional(),
  clip: grammar('co2 outer momentum clip: none | value:<φ> | norm:<φ>', (t) => void parseOuterMomentumClip(t)).optional(),
  staleness: oneOf(['one-round', 'none'], 'co2: one-round (overlapped all-reduce) | none').optional(),
  gamma: positive('slowmo base learning rate γ (default 1)').optional(),
  resyncEvery: nonNegativeInt('copy the anchors from the canonical worker every N rounds (0: only on membership changes)').optional(),
};
const outerSchema = z.strictObject(outerShape, { error: unknownField(() => Object.keys(outerShape)) }).describe('co2 / slowmo options');

/**
 * A run config file: every field optional (resolveRunConfig fills the defaults). A resolved config
 * passes it too. Cross-field rules (processes ≤ workers, the topology at the run's size) are checked
 * once the fields themselves are valid.
 */
const runConfigShape = {
  $schema: z.string().describe('the JSON Schema of this file, for editors (ignored)').optional(),
  algo: oneOf(ALGORITHMS, 'local | dsgd (gossip) | allreduce | co2 | localsgd | slowmo').optional(),
  workers: positiveInt('number of workers').optional(),
  processes: positiveInt('OS processes hosting the workers (default: one per worker)').optional(),
  partition: partitionSchema.optional(),
  topology: z.string({ error: says('a string') }).describe('ring | torus[:RxC] | exponential | one-peer-exponential | complete | random-regular:N:D | erdos-renyi:N:P | push-sum:N[:random]').optional(),
  schedule: grammar('gossip | none | constant:R | window:START:LENGTH[:R] | late:POINT[:R] | final-merge[:R]', (t) => void parseSchedule(t)).optional(),
  merge: grammar('final merge: none | exact | gossip:K', (t) => void parseMerge(t, false)).optional(),
  order: oneOf(['adapt-then-combine', 'overlapped'], 'adapt-then-combine | overlapped (D-PSGD)').optional(),
  robust: grammar(`dsgd's Byzantine-robust mixing: ${ROBUST_GRAMMAR}`, (t) => void parseRobust(t)).optional(),
  localSteps: positiveInt('local steps per round, H (τ)').optional(),
  rounds: nonNegativeInt('rounds (default: epochs over the average shard)').optional(),
  consensusEvery: nonNegativeInt('measure the consensus distance every N rounds (0: never)').optional(),
  checkpointEvery: nonNegativeInt('checkpoint every N rounds (0: only when stopped)').optional(),
  dataset: datasetSchema.optional(),
  // A dry parse at a stand-in image shape: a cnn on non-image data is still refused by the run.
  model: grammar('softmax | mlp:<widths>[:gelu] | cnn', (t) => {
    if (t === '') throw new Error('model must be a string such as "mlp:256,256", "cnn" or "softmax"');
    parseModelSpec(t, [1, 8, 8], 2);
  }).optional(),
  optimizer: optimizerSchema.optional(),
  lrSchedule: grammar('constant | cosine[:<warmup steps>]', (t) => void parseLrSchedule(t)).optional(),
  augment: grammar('none | shift:<pixels>', (t) => void augmentOf(t)).optional(),
  batchSize: positiveInt('batch size per worker').optional(),
  epochs: positiveInt('passes over the training data').optional(),
  seed: nonNegativeInt('seed of init, split and batch order').optional(),
  logEvery: positiveInt('read the loss back every N steps').optional(),
  evalEvery: nonNegativeInt('evaluate every N epochs (one worker) or rounds (distributed)', ' (0: only at the end)').optional(),
  outer: outerSchema.optional(),
  bandwidthMbps: positive("throttle each worker's link to this many Mbit/s").optional(),
};
export const runConfigSchema = z
  .strictObject(runConfigShape, { error: unknownField(() => Object.keys(runConfigShape).filter((k) => k !== '$schema')) })
  .superRefine((c, ctx) => {
    if (c.processes !== undefined && c.workers !== undefined && c.processes > c.workers) {
      ctx.addIssue({ code: 'custom', path: ['processes'], message: `processes (${c.processes}) > workers (${c.workers})`, input: c.processes });
    }
    if (c.robust !== undefined && robustOrUndefined(c.robust) !== undefined) {
      const pushSum = c.topology?.startsWith('push-sum') === true;
      if (c.algo !== 'dsgd' || (c.schedule ?? 'gossip') !== 'gossip' || c.order === 'overlapped' || pushSum) {
        ctx.addIssue({ code: 'custom', path: ['robust'], message: `robust "${c.robust}" needs algo dsgd with the gossip schedule, order adapt-then-combine and no push-sum topology`, input: c.robust });
      }
    }
    // The topology at the run's size, as every worker will build it: a bad spec, or one that
    // cannot be built (a random-regular degree too high, a disconnected graph), stops the launcher.
    if (c.topology !== undefined) {
      try {
        const topology = gossipTopology(topologyFor(c.topology, c.workers ?? 1), c.seed ?? 0);
        const rule = c.robust === undefined ? undefined : robustOrUndefined(c.robust);
        if (rule) {
          // The rule must fit the smallest in-degree (K) any worker mixes over (a few rounds, for
          // time-varying graphs), or the run would stop at its first mix.
          let minDegree = Infinity;
          for (let round = 0; round < 8; round++) for (let i = 0; i < topology.n; i++) minDegree = Math.min(minDegree, topology.node(round, i).recv.length);
          try {
            validateRobustRule(rule, minDegree);
          } catch (e) {
            ctx.addIssue({ code: 'custom', path: ['robust'], message: `robust "${c.robust}" on topology ${topology.name} (smallest degree ${minDegree}): ${(e as Error).message}`, input: c.robust });
          }
        }
      } catch (e) {
        const message = (e as Error).message;
        // A builder's message (randomRegular: ...) does not say it is about the topology field.
        ctx.addIssue({ code: 'custom', path: ['topology'], message: /topology/i.test(message) ? message : `topology "${c.topology}": ${message}`, input: c.topology });
      }
    }
  })
  .describe('A Gossamer run config (gossamer train --config <file>); fields left out take their defaults');

/** Throws a RunConfigError, naming the field and what it may be, for the first issue of `value`. */
export function checkRunConfig(value: unknown): void {
  const result = runConfigSchema.safeParse(value);
  if (result.success) return;
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join('.');
  // A grammar's own message names its top-level field already (`unknown schedule "x": ...`).
  // An unknown field is named by its whole path (`outer.tau is an unknown field (known: …)`).
  const unknown = issue.code === 'unrecognized_keys' ? [...issue.path.map(String), issue.keys[0]].join('.') : undefined;
  const message =
    unknown !== undefined
      ? `${unknown} is an ${issue.message}`
      : field === ''
        ? issue.message
        : issue.code !== 'custom'
          ? `${field} ${issue.message}`
          : issue.path.length > 1
            ? `${field}: ${issue.message}`
            : issue.message;
  throw new RunConfigError(field, message);
}

/** The run config's JSON Schema (draft 2020-12), for editors: `gossamer schema > run.schema.json`. */
export function runConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(runConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
