import { gatherRows } from '../gather.js';
import * as ref from '../reference/index.js';
import { checkInput, mixedError, type SelfCheck } from '../selfcheck-types.js';

export const gatherChecks: SelfCheck[] = [
  {
    name: 'gather.rows',
    async run(gpu) {
      const [rows, rowLength, count] = [97, 13, 41];
      const source = checkInput(rows * rowLength, 7);
      const indices = Uint32Array.from(checkInput(count, 8, 0, rows), Math.floor);
      const [bs, bi, bd] = [gpu.upload(source), gpu.upload(indices), gpu.createBuffer(count * rowLength * 4)];
      const step = gpu.beginStep();
      gatherRows(step, {
        source: { buffer: bs, offset: 0, length: rows * rowLength },
        indices: { buffer: bi, offset: 0, count },
        destination: { buffer: bd, offset: 0, length: count * rowLength },
        rowLength,
      });
      step.submit();
      const err = mixedError(await gpu.readF32(bd), ref.gather.gatherRows(source, rowLength, indices));
      for (const b of [bs, bi, bd]) b.destroy();
      return { maxError: err, tolerance: 0 };
    },
  },
];
