// The one markdown-table and percentage formatter of the CLI's printed output (reproductions,
// benchmarks, run summaries, report.md), so every table and percentage reads the same way.

export interface MarkdownTableOptions {
  /**
   * Pad every column to its widest cell, separator `|-----|`: readable as plain text in a terminal
   * and in README.md (default). `false`: cells as they are, separator `| --- |` (report.md).
   */
  padded?: boolean;
}

/** A markdown table cell: no pipe or line break may leak into the table's structure. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A markdown table, lines joined by '\n' (no trailing newline). Every row must have head.length cells. */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[], options: MarkdownTableOptions = {}): string {
  const headCells = head.map(cell);
  const bodyCells = rows.map((r) => r.map(cell));
  if (options.padded === false) {
    const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
    return [line(headCells), line(headCells.map(() => '---')), ...bodyCells.map(line)].join('\n');
  }
  const widths = headCells.map((h, i) => Math.max(h.length, ...bodyCells.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(headCells), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...bodyCells.map(line)].join('\n');
}

/** A fraction as a percentage, `digits` decimals (0.9312 → "93.12%"); '–' when there is no finite value. */
export function percent(fraction: number | undefined, digits = 2): string {
  return fraction === undefined || !Number.isFinite(fraction) ? '–' : `${(100 * fraction).toFixed(digits)}%`;
}

/**
 * `part` as a percentage of `whole`, computed as (100 · part) / whole (not 100 · (part / whole),
 * which can round differently in the last digit shown); '–' when it is not finite.
 */
export function percentOf(part: number, whole: number, digits = 2): string {
  const v = (100 * part) / whole;
  return Number.isFinite(v) ? `${v.toFixed(digits)}%` : '–';
}
