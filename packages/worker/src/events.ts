// What a training run reports, as typed events. Nothing below the CLI prints: the CLI turns these
// into progress bars, JSON lines and plots.

export interface RunStartEvent {
  type: 'start';
  worker: string;
  model: string;
  parameters: number;
  trainSamples: number;
  testSamples: number;
  stepsPerEpoch: number;
  totalSteps: number;
  adapter: string;
}

/** Every logEvery steps: the mean training loss since the previous progress event. */
export interface ProgressEvent {
  type: 'progress';
  worker: string;
  step: number;
  epoch: number;
  loss: number;
  samplesPerSecond: number;
  elapsedMs: number;
}

export interface EvalEvent {
  type: 'eval';
  worker: string;
  step: number;
  epoch: number;
  testLoss: number;
  testAccuracy: number;
  elapsedMs: number;
}

export interface RunDoneEvent {
  type: 'done';
  worker: string;
  steps: number;
  epochs: number;
  testLoss: number;
  testAccuracy: number;
  elapsedMs: number;
  samplesPerSecond: number;
}

export type RunEvent = RunStartEvent | ProgressEvent | EvalEvent | RunDoneEvent;
