// Terminal rendering of run events: one redrawn progress line on a TTY, plain lines otherwise.
import type { RunEvent } from '@gossamer/worker';
import { percent } from './format.js';

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function bar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

/**
 * A status line: on a TTY, transient lines redraw in place and lasting ones stay; elsewhere only the
 * lasting ones are printed (logs stay readable).
 */
class StatusLine {
  private lineOpen = false;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty = out.isTTY === true,
  ) {}

  write(line: string, transient: boolean): void {
    if (this.tty) {
      this.out.write(`\r\x1b[2K${line}${transient ? '' : '\n'}`);
      this.lineOpen = transient;
    } else if (!transient) {
      this.out.write(`${line}\n`);
    }
  }

  /** Ends an open transient line. */
  close(): void {
    if (this.lineOpen) this.out.write('\n');
    this.lineOpen = false;
  }
}

/** Renders events of one worker's run as a progress bar (stderr). */
export class ProgressView {
  private totalSteps = 1;
  private totalEpochs = 1;
  private lastAccuracy = Number.NaN;
  private readonly line: StatusLine;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.line = new StatusLine(out);
  }

  private write(text: string, transient: boolean): void {
    this.line.write(text, transient);
  }

  handle(e: RunEvent): void {
    switch (e.type) {
      case 'start':
        this.totalSteps = e.totalSteps;
        this.totalEpochs = e.totalSteps / e.stepsPerEpoch;
        this.write(
          `${e.worker}: ${e.model} (${e.parameters.toLocaleString('en-US')} parameters) on ${e.trainSamples} samples, ${e.totalSteps} steps; adapter ${e.adapter}`,
          false,
        );
        break;
      case 'progress': {
        const eta = (e.elapsedMs / e.step) * (this.totalSteps - e.step);
        this.write(
          `epoch ${Math.ceil(e.epoch)}/${this.totalEpochs} ${bar(e.step / this.totalSteps)} step ${e.step}/${this.totalSteps} ` +
            `loss ${e.loss.toFixed(4)} acc ${percent(this.lastAccuracy)} ${Math.round(e.samplesPerSecond)} samples/s ETA ${formatDuration(eta)}`,
          true,
        );
        break;
      }
      case 'eval':
        this.lastAccuracy = e.testAccuracy;
        this.write(`epoch ${e.epoch}: test loss ${e.testLoss.toFixed(4)}, test accuracy ${percent(e.testAccuracy)} (${formatDuration(e.elapsedMs)})`, false);
        break;
      case 'done':
        this.line.close();
        break;
    }
  }
}

/** The events of a distributed run's workers, as the launcher receives them (JSON lines). */
export interface WorkerLine {
  type: string;
  worker?: string;
  round?: number;
  rounds?: number;
  loss?: number;
  accuracy?: number;
  consensusDistance?: number;
  mergedAccuracy?: number;
  localAccuracy?: number;
  method?: string;
  /** 'view' events: the members of the new view. */
  members?: string[];
  epoch?: number;
  startRound?: number;
  removed?: string[];
}

/**
 * Progress of a distributed run: one line per completed round (all workers), with the mean loss,
 * mean local accuracy on evaluation rounds and the consensus distance when measured; redrawn in
 * place on a TTY, printed on evaluation rounds otherwise.
 */
export class DistributedProgressView {
  private rounds = 0;
  private readonly byRound = new Map<number, WorkerLine[]>();
  private readonly start = performance.now();
  private readonly line: StatusLine;

  private merged = false;
  private epoch = 0;

  constructor(
    private workers: number,
    out: NodeJS.WriteStream = process.stderr,
  ) {
    this.line = new StatusLine(out);
  }

  private write(text: string, transient: boolean): void {
    this.line.write(text, transient);
  }

  handle(e: WorkerLine): void {
    if (e.type === 'start' && e.rounds !== undefined) this.rounds = e.rounds;
    if (e.type === 'view' && e.members && e.epoch !== undefined && e.epoch > this.epoch) {
      // The survivors go on: a round is complete when every member of the current view reported it.
      this.epoch = e.epoch;
      this.workers = e.members.length;
      this.write(`view ${e.epoch}: ${e.members.length} workers from round ${e.startRound}${e.removed?.length ? ` (${e.removed.join(', ')} removed)` : ''}`, false);
      for (const [round, list] of this.byRound) if (list.length >= this.workers) this.byRound.delete(round);
    }
    if (e.type === 'round' && e.round !== undefined) {
      const list = this.byRound.get(e.round) ?? [];
      list.push(e);
      this.byRound.set(e.round, list);
      if (list.length >= this.workers) {
        this.byRound.delete(e.round);
        const mean = (f: (x: WorkerLine) => number | undefined) => {
          const v = list.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
          return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
        };
        const loss = mean((x) => x.loss);
        const acc = mean((x) => x.accuracy);
        const cd = mean((x) => x.consensusDistance);
        const done = e.round + 1;
        const elapsed = performance.now() - this.start;
        const eta = (elapsed / done) * Math.max(0, this.rounds - done);
        const text =
          `round ${done}/${this.rounds} ${bar(done / Math.max(1, this.rounds))} ${this.workers} workers` +
          `${loss !== undefined ? ` loss ${loss.toFixed(4)}` : ''}` +
          `${acc !== undefined ? ` local acc ${percent(acc)}` : ''}` +
          `${cd !== undefined ? ` consensus ${cd.toExponential(2)}` : ''} ETA ${formatDuration(eta)}`;
        this.write(text, acc === undefined);
      }
    }
    if (e.type === 'merged' && !this.merged) {
      this.merged = true;
      this.write(`merged (${e.method}): accuracy ${percent(e.accuracy)}`, false);
    }
  }

  /** A line about the run itself (a failed worker process). */
  note(text: string): void {
    this.write(text, false);
  }

  close(): void {
    this.line.close();
  }
}
