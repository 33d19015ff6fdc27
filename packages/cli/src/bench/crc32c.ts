// CRC-32C throughput (every chunk on the wire is checksummed with it): MB/s over 8 MiB, aligned and
// misaligned by one byte, against copying the same bytes (Uint8Array.set) in the same run, so the
// ratio says what the checksum costs next to touching the memory at all.
import { crc32c } from '@gossamer/wire';
import type { BenchResult } from './types.js';

export interface Crc32cBenchOptions {
  /** Bytes per measurement (default 8 MiB). */
  bytes?: number;
  /** Measurements per case; the best is reported (default 5). */
  trials?: number;
}

export async function benchCrc32c(options: Crc32cBenchOptions = {}): Promise<BenchResult> {
  const size = options.bytes ?? 8 << 20;
  const trials = options.trials ?? 5;
  const data = new Uint8Array(size + 1).map((_, i) => (i * 2654435761) >>> 24);
  const target = new Uint8Array(size + 1);
  const best = (run: () => void, bytes: number): number => {
    run(); // warm-up
    let seconds = Infinity;
    for (let t = 0; t < trials; t++) {
      const t0 = performance.now();
      run();
      seconds = Math.min(seconds, (performance.now() - t0) / 1000);
    }
    return bytes / 1e6 / seconds;
  };
  const cases = [
    { name: 'aligned', bytes: data.subarray(0, size) },
    { name: 'misaligned (+1 byte)', bytes: data.subarray(1, size + 1) },
  ];
  const copy = best(() => target.set(data.subarray(0, size)), size);
  const rows: (string | number)[][] = [];
  const json: { case: string; mbPerSecond: number; copyMbPerSecond: number; ratio: number }[] = [];
  for (const c of cases) {
    const rate = best(() => void crc32c(c.bytes), c.bytes.length);
    rows.push([c.name, Math.round(rate), Math.round(copy), Number((rate / copy).toFixed(3))]);
    json.push({ case: c.name, mbPerSecond: rate, copyMbPerSecond: copy, ratio: rate / copy });
  }
  return {
    name: 'crc32c',
    columns: ['case', 'crc32c MB/s', 'copy MB/s', 'crc / copy'],
    rows,
    notes: [`${(size / 2 ** 20).toFixed(0)} MiB per measurement, best of ${trials}; copy = Uint8Array.set of the same bytes, measured in this run`],
    json: { bytes: size, trials, results: json },
  };
}
