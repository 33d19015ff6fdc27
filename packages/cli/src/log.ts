// Structured logs for the CLI's non-progress messages (warnings, errors, details). Text for people,
// JSON lines for machines; always on stderr, so stdout stays free for a command's results and
// `--json` output. No dependency: the CLI needs four levels and two formats, nothing more.
import type { ParseArgsConfig } from 'node:util';

/** Thrown for a bad --log-format/--log-level; the CLI reports it as a usage error. */
export class LogFlagError extends Error {}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type LogValue = string | number | boolean | null;
/** Extra context of a message; `undefined` fields are left out. */
export type LogFields = Readonly<Record<string, LogValue | readonly LogValue[] | undefined>>;

/** One JSON log line: `{"time":…,"level":…,"msg":…,"fields":{…}}`. */
export interface LogRecord {
  time: string;
  level: LogLevel;
  msg: string;
  fields: Record<string, LogValue | readonly LogValue[]>;
}

export interface LoggerOptions {
  /** Messages below this level are dropped (default info). */
  level?: LogLevel;
  format?: LogFormat;
  /** Receives each finished line, newline included (default: process.stderr). */
  write?: (line: string) => void;
  /** The clock for `time` (tests pin it). */
  now?: () => Date;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function textValue(value: LogValue | readonly LogValue[]): string {
  if (Array.isArray(value)) return value.map((v) => textValue(v)).join(',');
  const text = String(value);
  // Quote only when needed, so `key=value` pairs stay easy to read and to split.
  return /^[^\s"=,]+$/.test(text) ? text : JSON.stringify(text);
}

export class Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  private readonly write: (line: string) => void;
  private readonly now: () => Date;

  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? 'info';
    this.format = options.format ?? 'text';
    this.write = options.write ?? ((line) => process.stderr.write(line));
    this.now = options.now ?? (() => new Date());
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.level];
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const kept: LogRecord['fields'] = {};
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) kept[key] = value;
    if (this.format === 'json') {
      const record: LogRecord = { time: this.now().toISOString(), level, msg, fields: kept };
      this.write(`${JSON.stringify(record)}\n`);
      return;
    }
    // Text: info reads as plain output; other levels say what they are.
    const prefix = level === 'info' ? '' : `${level === 'warn' ? 'warning' : level}: `;
    const pairs = Object.entries(kept).map(([key, value]) => `${key}=${textValue(value)}`);
    this.write(`${prefix}${msg}${pairs.length > 0 ? `  ${pairs.join(' ')}` : ''}\n`);
  }
}

/** The logging flags every command accepts: spread into a Command's `options` and `optionHelp`. */
export const logOptions = {
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const logOptionHelp: Record<keyof typeof logOptions, string> = {
  'log-format': 'log lines on stderr as text or json (one object a line: time, level, msg, fields); env GOSSAMER_LOG_FORMAT (default text)',
  'log-level': 'debug | info | warn | error: the least severe level shown; env GOSSAMER_LOG_LEVEL (default info)',
};

function pick<T extends string>(flag: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new LogFlagError(`${flag} ${String(value)}: use ${allowed.join(', ')}`);
}

/**
 * The logger a command's flags ask for: `--log-format`/`--log-level`, else GOSSAMER_LOG_FORMAT /
 * GOSSAMER_LOG_LEVEL (so child processes and scripts can set them once), else text at info.
 * Throws LogFlagError for an unknown format or level.
 */
export function loggerFromFlags(
  values: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
  options: Omit<LoggerOptions, 'level' | 'format'> = {},
): Logger {
  const format =
    pick('--log-format', values['log-format'], LOG_FORMATS) ?? pick('GOSSAMER_LOG_FORMAT', env.GOSSAMER_LOG_FORMAT, LOG_FORMATS);
  const level =
    pick('--log-level', values['log-level'], LOG_LEVELS) ?? pick('GOSSAMER_LOG_LEVEL', env.GOSSAMER_LOG_LEVEL, LOG_LEVELS);
  return new Logger({ ...options, format: format ?? 'text', level: level ?? 'info' });
}
