import { describe, expect, it } from 'vitest';
import { CsvError, parseEdgeListCsv, readCsv, TopologyError } from '@gossamer/topology';

describe('the one CSV reader', () => {
  it('reads a quoted field with a comma (and doubled quotes, a quoted line break) as one field, with the line each record starts on', () => {
    const records = readCsv('name,note\r\n"Smith, J.","say ""hi"""\n\n"two\nlines",x\n');
    expect(records).toEqual([
      { fields: ['name', 'note'], line: 1 },
      { fields: ['Smith, J.', 'say "hi"'], line: 2 },
      { fields: ['two\nlines', 'x'], line: 4 },
    ]);
  });

  it('skips comment lines only when asked, and trims whitespace around fields but not inside quotes', () => {
    expect(readCsv('# c\n a , " b " \n', { comments: true })).toEqual([{ fields: ['a', ' b '], line: 2 }]);
    expect(readCsv('# c\n1,2\n').map((r) => r.fields)).toEqual([['# c'], ['1', '2']]);
  });

  it('a malformed row is a CsvError naming the file, the line and the column', () => {
    const unterminated = () => readCsv('a,b\n1,2\n\n3,"4\n5,6\n', { source: 'data/points.csv' });
    expect(unterminated).toThrow(CsvError);
    expect(unterminated).toThrow('data/points.csv: line 4, column 2: unterminated quoted field');
    expect(() => readCsv('a,b\n1,"2"x\n', { source: 'points.csv' })).toThrow(/^points\.csv: line 2, column 2: /);
    expect(() => readCsv('a,b\n1,2\n3,a"b\n', { source: 'points.csv' })).toThrow(/^points\.csv: line 3, column 2: /);
  });

  it('edge lists: quoted fields, and malformed quoting as a TopologyError naming the file and line', () => {
    const g = parseEdgeListCsv('"source","target","weight, w"\n0,1,"0.5"\n1,2\n');
    expect(g.edges).toEqual([
      { u: 0, v: 1, w: 0.5 },
      { u: 1, v: 2, w: 1 },
    ]);
    const bad = () => parseEdgeListCsv('0,1\n1,"2\n', { source: 'edge list CSV edges.csv' });
    expect(bad).toThrow(TopologyError);
    expect(bad).toThrow('edge list CSV edges.csv, line 2: unterminated quoted field');
  });
});
