// Numeric and enumerated command-line flags, checked with the same schema library as the run config
// (zod): the error names the flag, the value given and what it may be. Flags arrive as strings;
// blank, NaN and ±Infinity are never numbers (Number('') is 0, and a NaN timer never fires).
import { z } from 'zod';
import { choices } from '@gossamer/worker';
import { UsageError } from './command.js';

type Values = Readonly<Record<string, unknown>>;

/** What a numeric flag may be: the schema checks the number, `what` says it in the error. */
export interface NumberKind {
  schema: z.ZodType<number>;
  what: string;
}

export const flagKinds = {
  integer: { schema: z.int(), what: 'an integer' },
  number: { schema: z.number(), what: 'a number' },
  positiveInteger: { schema: z.int().min(1), what: 'a positive integer' },
  nonNegativeInteger: { schema: z.int().min(0), what: 'a non-negative integer' },
  positive: { schema: z.number().positive(), what: 'a positive number' },
  nonNegative: { schema: z.number().min(0), what: 'a non-negative number' },
  milliseconds: { schema: z.number().positive(), what: 'a positive number of milliseconds' },
} as const satisfies Record<string, NumberKind>;

const stringOf = (values: Values, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

/** The number a flag gives (undefined when absent), or a UsageError: `--name value: expected <what>`. */
export function numberFlag(values: Values, name: string, kind: NumberKind, example?: string): number | undefined {
  const text = stringOf(values, name);
  if (text === undefined) return undefined;
  const parsed = kind.schema.safeParse(text.trim() === '' ? Number.NaN : Number(text));
  if (!parsed.success) throw new UsageError(`--${name} ${text}: expected ${kind.what}${example ? `, e.g. --${name} ${example}` : ''}`);
  return parsed.data;
}

/** One of `allowed` (default `fallback` when absent), or a UsageError naming the flag and the choices. */
export function choiceFlag<const T extends readonly [string, ...string[]]>(values: Values, name: string, allowed: T, fallback?: T[number]): T[number] | undefined {
  const text = stringOf(values, name);
  if (text === undefined) return fallback;
  const parsed = z.enum(allowed).safeParse(text);
  if (!parsed.success) throw new UsageError(`--${name} ${text}: use ${choices(allowed)}`);
  return parsed.data;
}

/**
 * A comma-separated list of numbers of one kind (undefined when absent), or a UsageError:
 * `--name text: expected <what> values, comma-separated`.
 */
export function numberListFlag(values: Values, name: string, kind: NumberKind, example?: string): number[] | undefined {
  const text = stringOf(values, name);
  if (text === undefined) return undefined;
  const items = text.split(',').map((t) => (t.trim() === '' ? Number.NaN : Number(t)));
  const parsed = z.array(kind.schema).min(1).safeParse(items);
  if (!parsed.success) throw new UsageError(`--${name} ${text}: expected ${kind.what} values, comma-separated${example ? `, e.g. --${name} ${example}` : ''}`);
  return parsed.data;
}
