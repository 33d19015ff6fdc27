import { CsvError, readCsv, type CsvRecord } from '@gossamer/topology';
import { classificationDataset, regressionDataset, type Dataset } from './dataset.js';

// The reader and its error are the project's one CSV reader (@gossamer/topology's csv.ts).
export { CsvError };

export interface CsvOptions {
  /** The label (or regression target) column: a header name, or a 0-based index (−1 = last). */
  label: string | number;
  /** Default `classification`. */
  task?: 'classification' | 'regression';
  /** Feature columns (names or indices), in this order. Default: every column but the label. */
  features?: readonly (string | number)[];
  /** Does the first record name the columns? Default true. */
  header?: boolean;
  /** One character. Default ','. */
  delimiter?: string;
  /**
   * Class names, index = label, for string labels. Default: if every label is a non-negative integer
   * ("3" or "3.0") it is the class index (numClasses = max + 1); otherwise the distinct strings, sorted, so the
   * mapping does not depend on row order.
   */
  classes?: readonly string[];
  /** Dataset name and the file name in error messages. Default "csv". */
  name?: string;
}



const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A dataset from CSV text: numeric features (decimal numbers; anything else — empty cells, NaN,
 * text — is an error naming the line and column), one label or target column. RFC 4180 quoting
 * ("a, b", "say ""hi""", quoted newlines) and CRLF line ends are understood; blank lines are skipped.
 */
export function parseCsv(text: string, options: CsvOptions): Dataset {
  const source = options.name ?? 'csv';
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new Error(`parseCsv(${source}): delimiter must be one character other than a quote or newline, got ${JSON.stringify(delimiter)}`);
  }
  const records = readCsv(text, { source, delimiter });
  const hasHeader = options.header ?? true;
  const headerRecord = hasHeader ? records.shift() : undefined;
  if (hasHeader && !headerRecord) throw new CsvError(source, 1, 0, 'no header line (the file is empty)');
  const width = headerRecord?.fields.length ?? records[0]?.fields.length ?? 0;
  const names = headerRecord ? headerRecord.fields.map((f) => f.trim()) : Array.from({ length: width }, (_, i) => `column ${i + 1}`);
  const where = headerRecord ? `header (line ${headerRecord.line})` : 'file';

  const resolve = (column: string | number, role: string): number => {
    if (typeof column === 'number') {
      const index = column < 0 ? width + column : column;
      if (!Number.isInteger(index) || index < 0 || index >= width) {
        throw new Error(`parseCsv(${source}): ${role} column index ${column} is outside the ${width} columns`);
      }
      return index;
    }
    if (!headerRecord) throw new Error(`parseCsv(${source}): ${role} column "${column}" given by name, but header is false`);
    const index = names.indexOf(column);
    if (index < 0) throw new Error(`parseCsv(${source}): no ${role} column "${column}" in the ${where}: ${names.join(', ')}`);
    return index;
  };
  const labelColumn = resolve(options.label, 'label');
  const featureColumns = options.features
    ? options.features.map((c) => resolve(c, 'feature'))
    : names.map((_, i) => i).filter((i) => i !== labelColumn);
  if (featureColumns.length === 0) throw new Error(`parseCsv(${source}): no feature columns`);
  if (featureColumns.includes(labelColumn)) throw new Error(`parseCsv(${source}): the label column "${names[labelColumn]}" is also a feature`);

  const n = records.length;
  const d = featureColumns.length;
  const features = new Float32Array(n * d);
  const labelCells: string[] = new Array<string>(n);
  records.forEach((record, row) => {
    if (record.fields.length !== width) {
      throw new CsvError(source, record.line, 0, `expected ${width} fields, found ${record.fields.length}`);
    }
    featureColumns.forEach((column, j) => {
      features[row * d + j] = parseNumber(record, column, names[column], source);
    });
    labelCells[row] = record.fields[labelColumn].trim();
  });

  const name = options.name ?? 'csv';
  if ((options.task ?? 'classification') === 'regression') {
    const targets = Float32Array.from(records, (record) => parseNumber(record, labelColumn, names[labelColumn], source));
    return regressionDataset({ name, features, targets, featureShape: [d] });
  }
  const { labels, numClasses, classNames } = encodeLabels(labelCells, records, labelColumn, names[labelColumn], options.classes, source);
  return classificationDataset({ name, features, labels, numClasses, featureShape: [d], ...(classNames ? { classNames } : {}) });
}

/** Reads and parses a CSV file (Node only). The dataset is named after the file unless `name` is set. */
export async function loadCsv(path: string, options: CsvOptions): Promise<Dataset> {
  const { readFile } = await import('node:fs/promises'); // lazily: browsers use parseCsv
  return parseCsv(await readFile(path, 'utf8'), { ...options, name: options.name ?? path });
}

function parseNumber(record: CsvRecord, column: number, columnName: string, source: string): number {
  const cell = record.fields[column].trim();
  if (!DECIMAL.test(cell)) {
    const what = cell === '' ? 'an empty cell' : `${JSON.stringify(cell)}`;
    throw new CsvError(source, record.line, column + 1, `(${columnName}) ${what} is not a number`);
  }
  return Number(cell);
}

function encodeLabels(
  cells: string[],
  records: CsvRecord[],
  column: number,
  columnName: string,
  classes: readonly string[] | undefined,
  source: string,
): { labels: Uint32Array; numClasses: number; classNames?: readonly string[] } {
  const labels = new Uint32Array(cells.length);
  const fail = (row: number, detail: string): never => {
    throw new CsvError(source, records[row].line, column + 1, `(${columnName}) ${detail}`);
  };
  if (classes) {
    const index = new Map(classes.map((c, i) => [c, i]));
    cells.forEach((cell, row) => {
      const c = index.get(cell);
      if (c === undefined) fail(row, `label ${JSON.stringify(cell)} is not one of the given classes (${classes.join(', ')})`);
      labels[row] = c!;
    });
    return { labels, numClasses: classes.length, classNames: classes };
  }
  // Integer class indices, also when written as "3.0" (pandas writes float columns that way).
  if (cells.every((cell) => DECIMAL.test(cell) && Number.isInteger(Number(cell)) && Number(cell) >= 0)) {
    let max = -1;
    cells.forEach((cell, row) => {
      const v = Number(cell);
      if (v > 0xffffffff - 1) fail(row, `label ${cell} is too large for a u32 class index`);
      labels[row] = v;
      if (v > max) max = v;
    });
    return { labels, numClasses: Math.max(max + 1, 1) };
  }
  cells.forEach((cell, row) => {
    if (cell === '') fail(row, 'empty label');
  });
  const names = [...new Set(cells)].sort();
  const index = new Map(names.map((c, i) => [c, i]));
  cells.forEach((cell, row) => (labels[row] = index.get(cell)!));
  return { labels, numClasses: names.length, classNames: names };
}
