// @gossamer/topology's Node entry: everything of the browser entry (browser.ts), plus what needs Node.
export * from './browser.js';
export { parseEdgeListCsv, parseEdgeListJson, type EdgeListCsvOptions } from './parse.js';
export { readCsv, CsvError, type CsvRecord, type CsvReadOptions } from './csv.js';
