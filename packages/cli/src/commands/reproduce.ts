// `gossamer reproduce <name>`: a plugin boundary. The reproductions (their experiment configs, the
// orchestration of their runs, reference solves, claim checks, tables and plots) live in the
// @gossamer/experiments package, which depends on @gossamer/cli and the library, never the reverse.
// This command owns only the flags and the help text, so `gossamer --help` and
// `gossamer reproduce --help` work without it; `run` loads the package at run time with a dynamic
// import whose specifier is a variable (so neither tsc nor the build order sees a dependency on it),
// checks that it exports a ReproducePlugin, and says what to do when it is not installed.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, type Command } from '../command.js';
import { flagKinds, numberListFlag } from '../flags.js';

/** The package `gossamer reproduce` loads its reproductions from. */
export const EXPERIMENTS_PACKAGE = '@gossamer/experiments';

export interface ReproduceOptions {
  /** Fewer workers and rounds, a smaller model (a smoke test, not the reproduction). */
  quick: boolean;
  /** WebGPU adapter preference, as the flag gave it. */
  adapter?: string;
  /** `--bandwidths` (co2: link speeds in Mbit/s), checked by the CLI before the plugin loads. */
  bandwidths?: readonly number[];
}

/** What @gossamer/experiments exports as `reproducePlugin`. */
export interface ReproducePlugin {
  /** The names `gossamer reproduce <name>` accepts, in the order help lists them. */
  reproductions: readonly string[];
  /** Runs one reproduction into `outDir` (created); bad input is thrown as a UsageError. */
  reproduce(name: string, outDir: string, options: ReproduceOptions): Promise<void>;
}

function isPlugin(value: unknown): value is ReproducePlugin {
  const p = value as Partial<ReproducePlugin> | undefined;
  return !!p && Array.isArray(p.reproductions) && typeof p.reproduce === 'function';
}

/** Loads the reproductions; a clear error if the package is not installed (or not built). */
export async function loadReproducePlugin(specifier: string = EXPERIMENTS_PACKAGE): Promise<ReproducePlugin> {
  let module: { reproducePlugin?: unknown };
  try {
    module = (await import(specifier)) as { reproducePlugin?: unknown };
  } catch (e) {
    const error = e as NodeJS.ErrnoException;
    if (error.code === 'ERR_MODULE_NOT_FOUND' && error.message.includes(specifier.split('/').pop()!)) {
      throw new Error(
        `the reproductions live in the ${specifier} package, which could not be loaded (${error.message}). ` +
          `In the repository: npm install && npx turbo run build (it is packages/experiments).`,
      );
    }
    throw e;
  }
  if (!isPlugin(module.reproducePlugin)) throw new Error(`${specifier} does not export a reproducePlugin (reproductions + reproduce)`);
  return module.reproducePlugin;
}

export const reproduce: Command = {
  name: 'reproduce',
  summary: "reproduce a paper's claims at small scale: single-merge, co2, netlasso",
  usage: 'single-merge|co2|netlasso [--quick] [--out <dir>] [--bandwidths 2,8]',
  options: {
    out: { type: 'string' },
    quick: { type: 'boolean', default: false },
    adapter: { type: 'string' },
    bandwidths: { type: 'string' },
  },
  optionHelp: {
    out: 'directory for runs, table, plots (default runs/reproduce-<name>)',
    quick: 'fewer workers and rounds, a smaller model (a smoke test, not the reproduction)',
    adapter: 'WebGPU adapter: auto, hardware, swiftshader, or part of an adapter name',
    bandwidths: 'co2: link speeds in Mbit/s per worker, comma-separated (default 2,8; --quick 2; on a GPU try 200,1000)',
  },
  async run(values, positionals) {
    const [name] = positionals;
    const quick = values.quick === true;
    const adapter = typeof values.adapter === 'string' ? values.adapter : undefined;
    const bandwidths = numberListFlag(values, 'bandwidths', { schema: flagKinds.positive.schema, what: 'positive Mbit/s' }, '2,8');
    const out = resolve(typeof values.out === 'string' ? values.out : join('runs', `reproduce-${name ?? ''}`));
    const plugin = await loadReproducePlugin();
    if (name === undefined || !plugin.reproductions.includes(name)) {
      throw new UsageError(`unknown reproduction "${name ?? ''}": available: ${plugin.reproductions.join(', ')}`);
    }
    mkdirSync(out, { recursive: true });
    await plugin.reproduce(name, out, { quick, adapter, bandwidths });
    return 0;
  },
};
