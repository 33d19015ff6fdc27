// Network Lasso problems from files: a nodes CSV plus an edges CSV, or one JSON document.
import { CsvError, parseEdgeListCsv, parseEdgeListJson, readCsv, type CsvRecord } from '@gossamer/topology';
import { validateProblem, type NetlassoLoss, type NetlassoProblem, type NodeSampleSet } from './problem.js';

export interface CsvProblemOptions {
  loss: NetlassoLoss;
  name?: string;
  /** What errors call the two texts, e.g. the file names. Default "nodes CSV" and "edge list CSV". */
  nodesSource?: string;
  edgesSource?: string;
}

interface Row {
  node: number;
  group?: number;
  split: 'train' | 'test';
  label: number;
  features: number[];
}

/**
 * Nodes CSV (header required), one row per sample (per node for the squared loss, whose feature
 * columns are the anchor a_i). Columns: `node` (0-based id, required); optional `group` (ground-truth
 * cluster), `split` (`train` default, or `test`), `label` (y; absent = 0); every other column is a
 * feature, in header order. Edges CSV: `i,j[,w]` per line (see parseEdgeListCsv). d = the number of
 * feature columns (+1 for the one-class SVM's offset r). Fields may be quoted (RFC 4180); blank lines
 * and lines starting with `#` are skipped. Errors name the text (`nodesSource`) and the line.
 */
export function parseNetlassoCsv(nodesCsv: string, edgesCsv: string, options: CsvProblemOptions): NetlassoProblem {
  const src = options.nodesSource ?? 'nodes CSV';
  let records: CsvRecord[];
  try {
    records = readCsv(nodesCsv, { source: src, comments: true });
  } catch (error) {
    if (error instanceof CsvError) throw new Error(`${src}, line ${error.line}: ${error.detail}`);
    throw error;
  }
  let header: string[] | undefined;
  const rows: Row[] = [];
  let maxNode = -1;
  for (const { fields, line } of records) {
    const at = `${src}, line ${line}`;
    if (!header) {
      header = fields.map((f) => f.toLowerCase());
      if (!header.includes('node')) throw new Error(`${at}: the header needs a "node" column`);
      continue;
    }
    if (fields.length !== header.length) throw new Error(`${at}: ${fields.length} fields, header has ${header.length}`);
    const row: Row = { node: -1, split: 'train', label: 0, features: [] };
    header.forEach((name, c) => {
      const f = fields[c];
      if (name === 'split') {
        if (f !== 'train' && f !== 'test') throw new Error(`${at}: split must be train or test, got "${f}"`);
        row.split = f;
        return;
      }
      const v = Number(f);
      if (f === '' || !Number.isFinite(v)) throw new Error(`${at}: column ${name} = "${f}" is not a finite number`);
      if (name === 'node') {
        if (!Number.isInteger(v) || v < 0) throw new Error(`${at}: node id must be a non-negative integer, got ${f}`);
        row.node = v;
      } else if (name === 'group') row.group = v;
      else if (name === 'label') row.label = v;
      else row.features.push(v);
    });
    maxNode = Math.max(maxNode, row.node);
    rows.push(row);
  }
  if (!header || rows.length === 0) throw new Error(`${src}: no data rows`);
  const graph = parseEdgeListCsv(edgesCsv, { n: maxNode + 1, source: options.edgesSource });
  const n = graph.n;
  const featureDim = rows[0].features.length;
  const groups = rows.some((r) => r.group !== undefined) ? new Int32Array(n).fill(-1) : undefined;
  for (const r of rows) if (groups && r.group !== undefined) groups[r.node] = r.group;
  const base = { name: options.name ?? `csv(${n} nodes)`, graph, loss: options.loss, groups };
  let problem: NetlassoProblem;
  if (options.loss.kind === 'squared') {
    const anchors = new Float32Array(n * featureDim);
    const seen = new Uint8Array(n);
    for (const r of rows) {
      if (seen[r.node]) throw new Error(`${src}: node ${r.node} appears twice (the squared loss takes one anchor row per node)`);
      seen[r.node] = 1;
      anchors.set(r.features, r.node * featureDim);
    }
    const missing = seen.indexOf(0);
    if (missing >= 0) throw new Error(`${src}: node ${missing} has no anchor row`);
    problem = { ...base, dim: featureDim, anchors };
  } else {
    const pack = (split: 'train' | 'test'): NodeSampleSet => samplesFrom(rows.filter((r) => r.split === split).map((r) => ({ node: r.node, x: r.features, y: r.label })), n, featureDim);
    const dim = options.loss.kind === 'ocsvm' ? featureDim + 1 : featureDim;
    const hasTest = rows.some((r) => r.split === 'test');
    problem = { ...base, dim, train: pack('train'), test: hasTest ? pack('test') : undefined };
  }
  validateProblem(problem);
  return problem;
}

function samplesFrom(list: { node: number; x: readonly number[]; y: number }[], n: number, featureDim: number): NodeSampleSet {
  const sorted = list.map((s, k) => ({ ...s, k })).sort((a, b) => a.node - b.node || a.k - b.k);
  const start = new Int32Array(n + 1);
  for (const s of sorted) start[s.node + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const features = new Float32Array(sorted.length * featureDim);
  const labels = new Float32Array(sorted.length);
  sorted.forEach((s, q) => {
    if (s.x.length !== featureDim) throw new Error(`sample of node ${s.node} has ${s.x.length} features, expected ${featureDim}`);
    features.set(s.x, q * featureDim);
    labels[q] = s.y;
  });
  return { featureDim, start, features, labels };
}

interface JsonSample {
  x: number[];
  y?: number;
}

interface JsonNode {
  id: number;
  group?: number;
  anchor?: number[];
  train?: JsonSample[];
  test?: JsonSample[];
}

interface JsonProblem {
  name?: string;
  loss: NetlassoLoss;
  nodes: JsonNode[];
  edges: unknown[];
}

/**
 * One JSON document: { "name"?, "loss": {"kind": ..., ...}, "nodes": [{"id", "group"?, "anchor"? (squared
 * loss), "train"?: [{"x": [...], "y"?}], "test"?: [...]}], "edges": [[i, j, w?] | {u, v, w?} ...] }.
 */
export function parseNetlassoJson(text: string): NetlassoProblem {
  let doc: JsonProblem;
  try {
    doc = JSON.parse(text) as JsonProblem;
  } catch (e) {
    throw new Error(`Network Lasso JSON: not valid JSON (${(e as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.nodes) || !Array.isArray(doc.edges) || !doc.loss) {
    throw new Error('Network Lasso JSON: expected {"loss": {...}, "nodes": [...], "edges": [...]}');
  }
  const n = doc.nodes.reduce((m, v, k) => {
    if (!Number.isInteger(v.id) || v.id < 0) throw new Error(`Network Lasso JSON: nodes[${k}].id must be a non-negative integer`);
    return Math.max(m, v.id + 1);
  }, 0);
  const graph = parseEdgeListJson(JSON.stringify({ n, edges: doc.edges }));
  const groups = doc.nodes.some((v) => v.group !== undefined) ? new Int32Array(n).fill(-1) : undefined;
  for (const v of doc.nodes) if (groups && v.group !== undefined) groups[v.id] = v.group;
  const base = { name: doc.name ?? `json(${n} nodes)`, graph, loss: doc.loss, groups };
  let problem: NetlassoProblem;
  if (doc.loss.kind === 'squared') {
    const d = doc.nodes[0]?.anchor?.length ?? 0;
    const anchors = new Float32Array(n * d);
    for (const v of doc.nodes) {
      if (!v.anchor || v.anchor.length !== d) throw new Error(`Network Lasso JSON: node ${v.id} needs an anchor of ${d} numbers`);
      anchors.set(v.anchor, v.id * d);
    }
    problem = { ...base, dim: d, anchors };
  } else {
    const flat = (which: 'train' | 'test') => doc.nodes.flatMap((v) => (v[which] ?? []).map((s) => ({ node: v.id, x: s.x, y: s.y ?? 0 })));
    const trainList = flat('train');
    const featureDim = trainList[0]?.x.length ?? 0;
    const testList = flat('test');
    const dim = doc.loss.kind === 'ocsvm' ? featureDim + 1 : featureDim;
    problem = { ...base, dim, train: samplesFrom(trainList, n, featureDim), test: testList.length > 0 ? samplesFrom(testList, n, featureDim) : undefined };
  }
  validateProblem(problem);
  return problem;
}
