import { describe, expect, it } from 'vitest';
import { LogFlagError, Logger, loggerFromFlags, type LogRecord } from '../src/log.js';

function capture(options: ConstructorParameters<typeof Logger>[0] = {}): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger({ now: () => new Date('2026-01-02T03:04:05.678Z'), ...options, write: (line) => lines.push(line) });
  return { log, lines };
}

describe('Logger', () => {
  it('writes JSON as one object per line with time, level, msg and fields (undefined fields left out)', () => {
    const { log, lines } = capture({ format: 'json', level: 'debug' });
    log.info('wrote plot', { path: 'plots/a.svg', series: ['w0', 'w1'], points: 4, skipped: undefined });
    log.error('boom');
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    const records = lines.map((l) => JSON.parse(l) as LogRecord);
    expect(records).toEqual([
      { time: '2026-01-02T03:04:05.678Z', level: 'info', msg: 'wrote plot', fields: { path: 'plots/a.svg', series: ['w0', 'w1'], points: 4 } },
      { time: '2026-01-02T03:04:05.678Z', level: 'error', msg: 'boom', fields: {} },
    ]);
  });

  it('drops messages below its level', () => {
    const { log, lines } = capture({ format: 'json', level: 'warn' });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines.map((l) => (JSON.parse(l) as LogRecord).level)).toEqual(['warn', 'error']);
    expect(log.enabled('info')).toBe(false);
    expect(log.enabled('error')).toBe(true);
  });

  it('writes text for people: info plain, other levels prefixed, fields as key=value, quoted when needed', () => {
    const { log, lines } = capture({ level: 'debug' });
    log.info('report written', { path: '/tmp/r/report.md' });
    log.warn('skipped a line', { file: 'a b.jsonl', line: 3 });
    log.debug('x', { list: ['a', 'b c'], ok: true, none: null });
    log.error('no run');
    expect(lines).toEqual([
      'report written  path=/tmp/r/report.md\n',
      'warning: skipped a line  file="a b.jsonl" line=3\n',
      'debug: x  list=a,"b c" ok=true none=null\n',
      'error: no run\n',
    ]);
  });
});

describe('loggerFromFlags', () => {
  it('takes flags over the environment over the defaults (text, info)', () => {
    expect(loggerFromFlags({}, {})).toMatchObject({ format: 'text', level: 'info' });
    expect(loggerFromFlags({}, { GOSSAMER_LOG_FORMAT: 'json', GOSSAMER_LOG_LEVEL: 'debug' })).toMatchObject({ format: 'json', level: 'debug' });
    expect(loggerFromFlags({ 'log-format': 'text', 'log-level': 'error' }, { GOSSAMER_LOG_FORMAT: 'json', GOSSAMER_LOG_LEVEL: 'debug' })).toMatchObject({
      format: 'text',
      level: 'error',
    });
  });

  it('rejects unknown formats and levels as usage errors that list the choices', () => {
    expect(() => loggerFromFlags({ 'log-format': 'xml' }, {})).toThrow(new LogFlagError('--log-format xml: use text, json'));
    expect(() => loggerFromFlags({ 'log-level': 'loud' }, {})).toThrow(LogFlagError);
    expect(() => loggerFromFlags({}, { GOSSAMER_LOG_LEVEL: 'verbose' })).toThrow(/GOSSAMER_LOG_LEVEL verbose: use debug, info, warn, error/);
  });
});
