/**
 * The project's one CSV reader (datasets, Network Lasso problems, edge lists), on csv-parse so that
 * RFC 4180 quoting works: `"a, b"`, `"say ""hi"""`, quoted line breaks. It returns raw records with
 * the line each starts on; what the fields mean, and the errors about them, are the callers'.
 */
import { parse } from 'csv-parse/sync';

/** An error at a place in a CSV file: `line` is 1-based, `column` 1-based (0 when not one cell). */
export class CsvError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly column: number,
    /** What is wrong, without the place. */
    readonly detail: string,
  ) {
    super(`${source}: line ${line}${column > 0 ? `, column ${column}` : ''}: ${detail}`);
    this.name = 'CsvError';
  }
}

export interface CsvRecord {
  /** The fields, quotes removed, whitespace around each trimmed (inside quotes it is kept). */
  readonly fields: string[];
  /** The 1-based line the record starts on. */
  readonly line: number;
}

export interface CsvReadOptions {
  /** The file name (or a description) that errors start with. Default "csv". */
  source?: string;
  /** One character. Default ','. */
  delimiter?: string;
  /** Skip lines whose first non-blank character is `#`. Default false. */
  comments?: boolean;
}

const LINE_BREAK = /\r\n|\n|\r/g;
const lineBreaks = (s: string): number => s.match(LINE_BREAK)?.length ?? 0;

/**
 * The records of CSV text: a leading BOM is dropped, CRLF, LF and CR line ends are understood, blank
 * lines are skipped and records may differ in length (callers check). Malformed quoting is a
 * {@link CsvError} naming the line and column.
 */
export function readCsv(text: string, options: CsvReadOptions = {}): CsvRecord[] {
  const source = options.source ?? 'csv';
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new Error(`${source}: the delimiter must be one character other than a quote or newline, got ${JSON.stringify(delimiter)}`);
  }
  let lastEnd = 0; // the line the last record read ends on
  const starts: number[] = [];
  try {
    const records = parse(text, {
      bom: true,
      delimiter,
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_column_count: true,
      skip_empty_lines: false, // blank lines are dropped here, so whitespace-only ones are too
      trim: true,
      ...(options.comments ? { comment: '#', comment_no_infix: true } : {}),
      on_record: (fields: string[], context: { lines: number }) => {
        lastEnd = context.lines;
        if (fields.length === 1 && fields[0] === '') return null;
        // context.lines is the line the record ends on; only quoted fields hold line breaks.
        starts.push(context.lines - fields.reduce((n, f) => n + lineBreaks(f), 0));
        return fields;
      },
    });
    return records.map((fields, k) => ({ fields, line: starts[k] }));
  } catch (error) {
    throw csvError(error, text, source, lastEnd, options.comments === true);
  }
}

interface ParseFailure {
  code?: string;
  lines?: number;
  column?: number;
  message: string;
}

function csvError(error: unknown, text: string, source: string, lastEnd: number, comments: boolean): Error {
  const e = error as ParseFailure;
  if (typeof e?.code !== 'string' || !e.code.includes('QUOTE')) return error instanceof Error ? error : new Error(String(error));
  const column = (e.column ?? 0) + 1;
  if (e.code === 'CSV_QUOTE_NOT_CLOSED') {
    // csv-parse names the last line; the unterminated record starts on the first data line after the last record read.
    const lines = text.split(LINE_BREAK);
    let line = lastEnd;
    while (line < lines.length && (lines[line].trim() === '' || (comments && lines[line].trim().startsWith('#')))) line++;
    return new CsvError(source, line + 1, column, 'unterminated quoted field');
  }
  const detail = e.code === 'INVALID_OPENING_QUOTE' ? 'a quote inside an unquoted field (quote the whole field, doubling inner quotes)' : 'unexpected characters after a closing quote';
  return new CsvError(source, e.lines ?? lastEnd + 1, column, detail);
}
