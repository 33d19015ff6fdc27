/**
 * Edge lists from text: CSV ("i,j" or "i,j,w" per line, optional header) and JSON.
 * Every error is a {@link TopologyError} that names the line (CSV) or the array position (JSON).
 */
import { CsvError, readCsv, type CsvRecord } from './csv.js';
import { graphFromEdges, TopologyError, type EdgeInput, type EdgeListOptions, type Graph } from './graph.js';

export interface EdgeListCsvOptions extends EdgeListOptions {
  /** What errors call the text, e.g. `edge list CSV edges.csv`. Default "edge list CSV". */
  source?: string;
}

const INT_RE = /^\+?\d+$/;

/**
 * Parses an edge list in CSV form and builds the graph ({@link graphFromEdges} validation:
 * ids in range, no self loops, weights > 0, duplicates per `options.duplicates`, rejected by default).
 *
 * Format, one edge per line: `i,j` or `i,j,w` (node ids: non-negative integers; w: a finite number
 * > 0, default 1). A line without a comma may separate its fields by tabs or spaces instead.
 * Fields may be quoted (RFC 4180, {@link readCsv}). Blank lines and lines starting with `#` are
 * ignored. The first non-blank line may be a header (e.g. `source,target,weight`): it is recognised by its first two fields both not being numbers.
 * Errors name the 1-based line number, e.g. `edge list CSV, line 4: node id j = "x" is not a
 * non-negative integer`.
 */
export function parseEdgeListCsv(text: string, options: EdgeListCsvOptions = {}): Graph {
  const { source = 'edge list CSV', ...graphOptions } = options;
  let records: CsvRecord[];
  try {
    records = readCsv(text, { source, comments: true });
  } catch (error) {
    if (error instanceof CsvError) throw new TopologyError(`${source}, line ${error.line}: ${error.detail}`);
    throw error;
  }
  const edges: EdgeInput[] = [];
  const labels: string[] = [];
  let sawData = false;
  for (const record of records) {
    const where = `${source}, line ${record.line}`;
    // A line without a comma may separate its fields by tabs or spaces.
    const fields = record.fields.length === 1 ? record.fields[0].split(/\s+/) : record.fields;
    const raw = record.fields.join(',');
    const isNum = (f: string | undefined): boolean => f !== undefined && f !== '' && Number.isFinite(Number(f));
    if (!sawData && !isNum(fields[0]) && !isNum(fields[1])) {
      // Header line: accepted once, before any edge.
      sawData = true;
      if (fields.length !== 2 && fields.length !== 3) {
        throw new TopologyError(`${where}: header must have 2 or 3 columns (i,j[,w]), got ${fields.length}: "${raw}"`);
      }
      continue;
    }
    sawData = true;
    if (fields.length !== 2 && fields.length !== 3) {
      throw new TopologyError(`${where}: expected 2 or 3 fields "i,j[,w]", got ${fields.length}: "${raw}"`);
    }
    const ids = fields.slice(0, 2).map((f, idx) => {
      if (!INT_RE.test(f)) {
        throw new TopologyError(`${where}: node id ${idx === 0 ? 'i' : 'j'} = "${f}" is not a non-negative integer`);
      }
      return Number(f);
    });
    if (fields.length === 3) {
      const w = Number(fields[2]);
      if (fields[2] === '' || !Number.isFinite(w)) {
        throw new TopologyError(`${where}: weight "${fields[2]}" is not a finite number`);
      }
      edges.push([ids[0], ids[1], w]);
    } else {
      edges.push([ids[0], ids[1]]);
    }
    labels.push(where);
  }
  if (edges.length === 0 && graphOptions.n === undefined) {
    throw new TopologyError(`${source}: no edges found (and no n given)`);
  }
  return graphFromEdges(edges, { ...graphOptions, labels });
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function describe(x: Json | undefined): string {
  const s = JSON.stringify(x);
  return s === undefined ? 'undefined' : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const ENDPOINT_KEYS: readonly (readonly [string, string, string])[] = [
  ['u', 'v', 'w'],
  ['i', 'j', 'w'],
  ['source', 'target', 'weight'],
  ['from', 'to', 'weight'],
];

/**
 * Parses an edge list in JSON and builds the graph (same validation as {@link parseEdgeListCsv}).
 * Accepted shapes: an array of edges, or an object `{ "n"?: number, "edges": [...] }`. An edge is
 * `[i, j]`, `[i, j, w]`, or an object with one of the key sets {u, v, w?}, {i, j, w?},
 * {source, target, weight?}, {from, to, weight?}. Ids must be JSON numbers (not strings).
 * Errors name the position, e.g. `edge list JSON, edges[3]: ...`.
 */
export function parseEdgeListJson(text: string, options: EdgeListOptions = {}): Graph {
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    throw new TopologyError(`edge list JSON: not valid JSON (${(err as Error).message})`);
  }
  let list: Json;
  let n = options.n;
  if (Array.isArray(doc)) {
    list = doc;
  } else if (doc !== null && typeof doc === 'object') {
    if (!('edges' in doc)) throw new TopologyError('edge list JSON: object has no "edges" array');
    list = doc.edges;
    if ('n' in doc) {
      const dn = doc.n;
      if (typeof dn !== 'number' || !Number.isInteger(dn) || dn < 1) {
        throw new TopologyError(`edge list JSON: "n" must be a positive integer, got ${describe(dn)}`);
      }
      if (n !== undefined && n !== dn) {
        throw new TopologyError(`edge list JSON: "n" = ${dn} disagrees with the n = ${n} passed in`);
      }
      n = dn;
    }
  } else {
    throw new TopologyError(`edge list JSON: expected an array of edges or {"edges": [...]}, got ${describe(doc)}`);
  }
  if (!Array.isArray(list)) throw new TopologyError(`edge list JSON: "edges" must be an array, got ${describe(list)}`);
  const edges: EdgeInput[] = [];
  const labels: string[] = [];
  list.forEach((e, k) => {
    const where = `edge list JSON, edges[${k}]`;
    let triple: Json[];
    if (Array.isArray(e)) {
      triple = e;
    } else if (e !== null && typeof e === 'object') {
      const keys = ENDPOINT_KEYS.find(([a, b]) => a in e && b in e);
      if (!keys) {
        throw new TopologyError(`${where}: object edge needs keys u/v, i/j, source/target or from/to, got ${describe(e)}`);
      }
      triple = keys[2] in e ? [e[keys[0]], e[keys[1]], e[keys[2]]] : [e[keys[0]], e[keys[1]]];
    } else {
      throw new TopologyError(`${where}: expected [i, j], [i, j, w] or an object, got ${describe(e)}`);
    }
    if (triple.length !== 2 && triple.length !== 3) {
      throw new TopologyError(`${where}: expected [i, j] or [i, j, w], got ${triple.length} entries`);
    }
    triple.forEach((x, idx) => {
      if (typeof x !== 'number') {
        const what = idx === 2 ? 'weight' : `node id ${idx === 0 ? 'i' : 'j'}`;
        throw new TopologyError(`${where}: ${what} must be a number, got ${describe(x)}`);
      }
    });
    edges.push(triple as unknown as EdgeInput);
    labels.push(where);
  });
  if (edges.length === 0 && n === undefined) {
    throw new TopologyError('edge list JSON: no edges found (and no n given)');
  }
  return graphFromEdges(edges, { ...options, n, labels });
}
