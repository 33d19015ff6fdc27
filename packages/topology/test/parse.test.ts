import { describe, expect, it } from 'vitest';
import { parseEdgeListCsv, parseEdgeListJson, TopologyError } from '@gossamer/topology';

describe('edge lists from CSV', () => {
  it('parses i,j[,w] with an optional header, comments, blank lines, CRLF and whitespace-separated lines', () => {
    const text = ['source,target,weight', '# a comment', '0,1,0.5', '', ' 1 , 2 ', '2\t3\t2', '3 0', ''].join('\r\n');
    const g = parseEdgeListCsv(text);
    expect(g.n).toBe(4);
    expect(g.edges).toEqual([
      { u: 0, v: 1, w: 0.5 },
      { u: 0, v: 3, w: 1 },
      { u: 1, v: 2, w: 1 },
      { u: 2, v: 3, w: 2 },
    ]);
    expect(parseEdgeListCsv('0,1\n1,2').edges.length).toBe(2);
    expect(parseEdgeListCsv('0,1', { n: 10 }).n).toBe(10);
    expect(parseEdgeListCsv('0,1\n1,0', { duplicates: 'merge' }).edges.length).toBe(1);
  });

  it('errors name the line and say what is wrong', () => {
    const cases: [string, string][] = [
      ['0,1\n1,2,3,4', 'edge list CSV, line 2: expected 2 or 3 fields "i,j[,w]", got 4: "1,2,3,4"'],
      ['0,1\n1,x', 'edge list CSV, line 2: node id j = "x" is not a non-negative integer'],
      ['i,j\n0,1\na,b', 'edge list CSV, line 3: node id i = "a" is not a non-negative integer'],
      ['0,1\n1,-2', 'edge list CSV, line 2: node id j = "-2" is not a non-negative integer'],
      ['0,1\n1,2.5', 'edge list CSV, line 2: node id j = "2.5" is not a non-negative integer'],
      ['0,1,abc', 'edge list CSV, line 1: weight "abc" is not a finite number'],
      ['0,1,-1', 'edge list CSV, line 1: weight must be a finite number > 0, got -1'],
      ['0,1\n\n2,2', 'edge list CSV, line 3: self loop (2, 2) is not allowed'],
      ['0,1\n1,0', 'edge list CSV, line 2: duplicate edge (0, 1), first given at edge list CSV, line 1'],
      ['a,b,c,d\n0,1', 'edge list CSV, line 1: header must have 2 or 3 columns (i,j[,w]), got 4'],
      ['# nothing\n\n', 'edge list CSV: no edges found (and no n given)'],
    ];
    for (const [text, message] of cases) {
      expect(() => parseEdgeListCsv(text), text).toThrow(message);
      expect(() => parseEdgeListCsv(text), text).toThrow(TopologyError);
    }
    expect(() => parseEdgeListCsv('0,1\n1,7', { n: 5 })).toThrow('edge list CSV, line 2: node id j = 7 is out of range [0, 4] (n = 5)');
  });
});

describe('edge lists from JSON', () => {
  it('accepts arrays of tuples and objects, and {n, edges}', () => {
    const g = parseEdgeListJson('[[0,1],[1,2,2.5],{"u":2,"v":3},{"source":3,"target":4,"weight":0.1},{"from":4,"to":0},{"i":1,"j":3,"w":7}]');
    expect(g.n).toBe(5);
    expect(g.edges).toEqual([
      { u: 0, v: 1, w: 1 },
      { u: 0, v: 4, w: 1 },
      { u: 1, v: 2, w: 2.5 },
      { u: 1, v: 3, w: 7 },
      { u: 2, v: 3, w: 1 },
      { u: 3, v: 4, w: 0.1 },
    ]);
    const h = parseEdgeListJson('{"n": 6, "edges": [[0, 5]]}');
    expect(h.n).toBe(6);
    expect(parseEdgeListJson('{"n": 3, "edges": []}').edges.length).toBe(0);
  });

  it('errors name the position and say what is wrong', () => {
    const cases: [string, string][] = [
      ['[[0,1],', 'edge list JSON: not valid JSON'],
      ['42', 'edge list JSON: expected an array of edges or {"edges": [...]}, got 42'],
      ['{"nodes": []}', 'edge list JSON: object has no "edges" array'],
      ['{"edges": 3}', 'edge list JSON: "edges" must be an array, got 3'],
      ['{"n": 0, "edges": []}', 'edge list JSON: "n" must be a positive integer, got 0'],
      ['[[0,1],[1]]', 'edge list JSON, edges[1]: expected [i, j] or [i, j, w], got 1 entries'],
      ['[[0,1],["1",2]]', 'edge list JSON, edges[1]: node id i must be a number, got "1"'],
      ['[[0,1,"heavy"]]', 'edge list JSON, edges[0]: weight must be a number, got "heavy"'],
      ['[{"a":0,"b":1}]', 'edge list JSON, edges[0]: object edge needs keys u/v, i/j, source/target or from/to'],
      ['[null]', 'edge list JSON, edges[0]: expected [i, j], [i, j, w] or an object, got null'],
      ['[[0,1],[1,1]]', 'edge list JSON, edges[1]: self loop (1, 1) is not allowed'],
      ['{"n": 3, "edges": [[0, 3]]}', 'edge list JSON, edges[0]: node id j = 3 is out of range [0, 2] (n = 3)'],
      ['[[0,1],[0,1]]', 'edge list JSON, edges[1]: duplicate edge (0, 1), first given at edge list JSON, edges[0]'],
      ['[[0,1,0]]', 'edge list JSON, edges[0]: weight must be a finite number > 0, got 0'],
      ['[]', 'edge list JSON: no edges found (and no n given)'],
    ];
    for (const [text, message] of cases) {
      expect(() => parseEdgeListJson(text), text).toThrow(message);
      expect(() => parseEdgeListJson(text), text).toThrow(TopologyError);
    }
    expect(() => parseEdgeListJson('{"n": 4, "edges": []}', { n: 5 })).toThrow('"n" = 4 disagrees with the n = 5 passed in');
  });
});
