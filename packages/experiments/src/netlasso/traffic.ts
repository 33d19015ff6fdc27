// The traffic-incident demo of the Network Lasso reproduction (ALGORITHMS.md §4): a simulated road
// grid, one-class SVMs per region fused by Network Lasso, scored by ROC AUC against centralized,
// local-only and federated-averaging baselines. Moved here from @gossamer/algorithms: experiments,
// not library.
import {
  broadcastModel,
  gaussian,
  globalFit,
  lambdaPath,
  localFits,
  newtonLossOf,
  roadNetwork,
  ROAD_TYPES,
  type NetlassoProblem,
  type NodeSampleSet,
} from '@gossamer/algorithms';
import { netlassoReference } from '@gossamer/kernels';
import { createRng, graphFromEdges, partitionGraph } from '@gossamer/topology';
import { pathPoint, solvePath, type PathPoint, type ReproduceTarget } from './benchmarks.js';

// ---- traffic incident detection demo ------------------------------------------------------------

export interface TrafficDemoOptions {
  seed?: number;
  /** Road grid (default 6 × 8 sensors). */
  rows?: number;
  cols?: number;
  /** Traffic regions (graph nodes of the Network Lasso; default 12). */
  regions?: number;
  /** 15-minute intervals: 96 per day. */
  intervalsPerDay?: number;
  trainDays?: number;
  validationDays?: number;
  testDays?: number;
  incidentsPerDay?: number;
  /** Training samples kept per region (scarce local data is what fusion helps with; default 24). */
  samplesPerRegion?: number;
  /** ν of the one-class SVMs (default 0.05). */
  nu?: number;
  lambdas?: readonly number[];
}

export interface DetectionScores {
  method: 'centralized' | 'local' | 'federated averaging' | 'network lasso';
  /** λ chosen on the validation days (network lasso only). */
  lambda?: number;
  /** Share of incidents with at least one flagged affected sample. */
  detectionRate: number;
  /** Share of incident-free samples flagged. */
  falseAlarmRate: number;
  /** Area under the ROC curve of the anomaly score r − wᵀφ. */
  auc: number;
}

export interface TrafficDemoResult {
  sensors: number;
  regions: number;
  regionEdges: number;
  testSamples: number;
  testIncidents: number;
  methods: DetectionScores[];
  /** Validation AUC and test scores along the λ path. */
  path: (PathPoint & { validationAuc: number; test: DetectionScores })[];
}

interface TrafficSamples {
  features: Float32Array;
  region: Int32Array;
  label: Uint8Array;
  incident: Int32Array;
  incidents: number;
}

const FEATURES = 4;

/**
 * A day-by-day simulation of a sensor grid: speed, flow and occupancy follow daily demand profiles per
 * road type (highway, arterial, local), with noise; incidents (test and validation days only) cut
 * speed and raise occupancy at a sensor and, decaying, at up to two upstream sensors, and cut flow
 * downstream. Features per sensor and interval (shared by all regions): speed / free speed,
 * 1 − occupancy, speed / the same sensor's speed an interval earlier, and the demand level.
 */
function simulateTraffic(o: Required<Omit<TrafficDemoOptions, 'lambdas'>>, regionOf: Int32Array, days: number, withIncidents: boolean, seed: number): TrafficSamples {
  const road = roadNetwork({ layout: 'grid', rows: o.rows, cols: o.cols });
  const n = road.graph.n;
  const T = o.intervalsPerDay;
  const rng = createRng(seed);
  const normal = gaussian(rng);
  const freeSpeed = [100, 60, 40];
  const peakDrop = [0.45, 0.3, 0.15];
  const sensorScale = Float64Array.from({ length: n }, () => 1 + 0.1 * normal());
  const upstream: number[][] = Array.from({ length: n }, () => []);
  road.downstream.forEach((dst, s) => dst >= 0 && upstream[dst].push(s));
  const demand = (t: number, type: number): number => {
    const h = (24 * t) / T;
    const peak = Math.exp(-((h - 8) ** 2) / 2) + 0.9 * Math.exp(-((h - 17.5) ** 2) / 3);
    return Math.min(1, 0.15 + (type === 2 ? 0.5 : 0.85) * peak);
  };
  const features: number[] = [];
  const region: number[] = [];
  const label: number[] = [];
  const incidentOf: number[] = [];
  let incidents = 0;
  for (let day = 0; day < days; day++) {
    // Incident effects: speed factor, occupancy factor and incident id per (sensor, t).
    const speedF = new Float64Array(n * T).fill(1);
    const occF = new Float64Array(n * T).fill(1);
    const inc = new Int32Array(n * T).fill(-1);
    if (withIncidents) {
      for (let q = 0; q < o.incidentsPerDay; q++) {
        const s = rng.int(n);
        const t0 = 4 + rng.int(T - 12);
        const length = 3 + rng.int(4);
        const id = incidents++;
        const hit = (sensor: number, t: number, sf: number, of: number): void => {
          if (t >= T) return;
          speedF[sensor * T + t] = Math.min(speedF[sensor * T + t], sf);
          occF[sensor * T + t] = Math.max(occF[sensor * T + t], of);
          inc[sensor * T + t] = id;
        };
        for (let t = t0; t < t0 + length; t++) {
          hit(s, t, 0.6, 1.8);
          for (const u of upstream[s]) {
            hit(u, t + 1, 0.75, 1.5);
            for (const v of upstream[u]) hit(v, t + 2, 0.9, 1.2);
          }
        }
      }
    }
    for (let s = 0; s < n; s++) {
      const type = road.roadType[s];
      let prevSpeed = freeSpeed[type] * sensorScale[s];
      for (let t = 0; t < T; t++) {
        const dem = demand(t, type) * (1 + 0.05 * normal());
        const base = freeSpeed[type] * sensorScale[s] * (1 - peakDrop[type] * dem * dem);
        const speed = Math.max(5, base * speedF[s * T + t] * (1 + 0.04 * normal()));
        const occupancy = Math.min(0.95, (0.08 + 0.3 * dem * dem) * occF[s * T + t] * (1 + 0.05 * normal()));
        features.push(speed / freeSpeed[type], 1 - occupancy, Math.min(speed / prevSpeed, 1.5), dem);
        prevSpeed = speed;
        region.push(regionOf[s]);
        label.push(inc[s * T + t] >= 0 ? 1 : 0);
        incidentOf.push(inc[s * T + t]);
      }
    }
  }
  return { features: Float32Array.from(features), region: Int32Array.from(region), label: Uint8Array.from(label), incident: Int32Array.from(incidentOf), incidents };
}

/** ROC AUC of scores (higher = more anomalous) against 0/1 labels, ties counted half. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSum = 0;
  let positives = 0;
  for (let k = 0; k < idx.length; ) {
    let j = k;
    while (j < idx.length && scores[idx[j]] === scores[idx[k]]) j++;
    const rank = (k + j + 1) / 2;
    for (let q = k; q < j; q++) if (labels[idx[q]]) (rankSum += rank), positives++;
    k = j;
  }
  const negatives = idx.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

function scoreDetection(models: ArrayLike<number>, samples: TrafficSamples, method: DetectionScores['method'], lambda?: number): DetectionScores {
  const d = FEATURES + 1;
  const count = samples.label.length;
  const scores = new Float64Array(count);
  let falseAlarms = 0;
  let normals = 0;
  const detected = new Set<number>();
  for (let s = 0; s < count; s++) {
    const m = samples.region[s] * d;
    let wx = 0;
    for (let k = 0; k < FEATURES; k++) wx += models[m + k] * samples.features[s * FEATURES + k];
    scores[s] = models[m + FEATURES] - wx;
    const flagged = scores[s] > 0;
    if (samples.label[s]) {
      if (flagged) detected.add(samples.incident[s]);
    } else {
      normals++;
      if (flagged) falseAlarms++;
    }
  }
  return { method, lambda, detectionRate: samples.incidents > 0 ? detected.size / samples.incidents : NaN, falseAlarmRate: falseAlarms / Math.max(normals, 1), auc: rocAuc(scores, samples.label) };
}

/**
 * Federated averaging baseline (float64, CPU): each round every region takes `localSteps` gradient
 * steps of size `lr` on its own f_i from the global model, and the server averages the results
 * weighted by sample counts.
 */
export function netlassoFederatedAveraging(p: NetlassoProblem, rounds = 50, localSteps = 5, lr = 0.05): Float64Array {
  const loss = newtonLossOf(p.loss);
  if (!loss) throw new Error('netlassoFederatedAveraging: Newton-solved losses only');
  const d = p.dim;
  const train = p.train!;
  let model = new Float64Array(d);
  for (let round = 0; round < rounds; round++) {
    const next = new Float64Array(d);
    let total = 0;
    for (let i = 0; i < p.graph.n; i++) {
      const x = Float64Array.from(model);
      for (let step = 0; step < localSteps; step++) {
        const { gradient } = netlassoReference.newtonLossAt(loss, train, i, x, d);
        for (let k = 0; k < d; k++) x[k] -= lr * gradient[k];
      }
      const weight = train.start[i + 1] - train.start[i];
      for (let k = 0; k < d; k++) next[k] += weight * x[k];
      total += weight;
    }
    model = next.map((v) => v / Math.max(total, 1));
  }
  return model;
}

/**
 * The traffic-incident demo (after Zhu et al., arXiv 2402.18167, on simulated data): regions of a road
 * grid are the nodes, linked where roads cross between them with weights fusing distance and road-type
 * similarity; one primal linear one-class SVM per region (trained on incident-free days) fused by
 * Network Lasso, λ chosen by validation AUC; detection rate, false-alarm rate and AUC on test days
 * against centralized (one pooled OC-SVM), local-only (λ = 0) and federated averaging.
 */
export async function reproduceTrafficIncidents(target: ReproduceTarget, options: TrafficDemoOptions = {}): Promise<TrafficDemoResult> {
  const o = {
    seed: options.seed ?? 1,
    rows: options.rows ?? 6,
    cols: options.cols ?? 8,
    regions: options.regions ?? 12,
    intervalsPerDay: options.intervalsPerDay ?? 96,
    trainDays: options.trainDays ?? 2,
    validationDays: options.validationDays ?? 1,
    testDays: options.testDays ?? 2,
    incidentsPerDay: options.incidentsPerDay ?? 8,
    samplesPerRegion: options.samplesPerRegion ?? 24,
    nu: options.nu ?? 0.05,
  };
  const road = roadNetwork({ layout: 'grid', rows: o.rows, cols: o.cols });
  const regionOf = partitionGraph(road.graph, o.regions).assignment;
  // Region graph: adjacency through roads; weight = exp(−centroid distance / 2) · cosine similarity of road-type mix.
  const centroid = new Float64Array(2 * o.regions);
  const mix = new Float64Array(ROAD_TYPES.length * o.regions);
  const size = new Float64Array(o.regions);
  for (let s = 0; s < road.graph.n; s++) {
    const r = regionOf[s];
    size[r]++;
    centroid[2 * r] += road.coordinates[2 * s];
    centroid[2 * r + 1] += road.coordinates[2 * s + 1];
    mix[r * ROAD_TYPES.length + road.roadType[s]]++;
  }
  for (let r = 0; r < o.regions; r++) for (const k of [0, 1]) centroid[2 * r + k] /= size[r];
  const cosine = (a: number, b: number): number => {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let t = 0; t < ROAD_TYPES.length; t++) {
      const [x, y] = [mix[a * ROAD_TYPES.length + t], mix[b * ROAD_TYPES.length + t]];
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    return ab / Math.sqrt(aa * bb);
  };
  const pairs = new Map<string, [number, number, number]>();
  for (const e of road.graph.edges) {
    const [a, b] = [regionOf[e.u], regionOf[e.v]].sort((x, y) => x - y);
    if (a === b) continue;
    const dist = Math.hypot(centroid[2 * a] - centroid[2 * b], centroid[2 * a + 1] - centroid[2 * b + 1]);
    pairs.set(`${a},${b}`, [a, b, Math.max(Math.exp(-dist / 2) * cosine(a, b), 1e-3)]);
  }
  const regionGraph = graphFromEdges([...pairs.values()], { n: o.regions, name: `traffic-regions(${o.regions})` });

  const train = simulateTraffic(o, regionOf, o.trainDays, false, o.seed * 7 + 1);
  const validation = simulateTraffic(o, regionOf, o.validationDays, true, o.seed * 7 + 2);
  const test = simulateTraffic(o, regionOf, o.testDays, true, o.seed * 7 + 3);
  // Scarce local data: a seeded subsample of each region's incident-free training samples.
  const rng = createRng(o.seed * 7 + 4);
  const byRegion: number[][] = Array.from({ length: o.regions }, () => []);
  train.region.forEach((r, s) => byRegion[r].push(s));
  const start = new Int32Array(o.regions + 1);
  const features: number[] = [];
  byRegion.forEach((list, r) => {
    const kept = rng.shuffle(list).slice(0, o.samplesPerRegion);
    for (const s of kept) for (let k = 0; k < FEATURES; k++) features.push(train.features[s * FEATURES + k]);
    start[r + 1] = start[r] + kept.length;
  });
  const trainSet: NodeSampleSet = { featureDim: FEATURES, start, features: Float32Array.from(features), labels: new Float32Array(start[o.regions]) };
  const problem: NetlassoProblem = { name: 'traffic regions OC-SVM', graph: regionGraph, dim: FEATURES + 1, loss: { kind: 'ocsvm', nu: o.nu, smoothing: 0.2 }, train: trainSet };

  const lambdas = options.lambdas ?? lambdaPath({ start: 0.01, factor: 2.5, count: 9 });
  // Exact (damped) Newton x-updates: at λ = 0 the single Newton step can cycle on the hinge's kinks.
  const reports = await solvePath(target, problem, lambdas, { epsAbs: 1e-4, epsRel: 1e-3, newton: { steps: 8, tol: 1e-6 } });
  const path = reports.map((r) => ({ ...pathPoint(r), validationAuc: scoreDetection(r.x, validation, 'network lasso', r.lambda).auc, test: scoreDetection(r.x, test, 'network lasso', r.lambda) }));
  const chosen = path.reduce((a, b) => (b.validationAuc > a.validationAuc ? b : a));
  const methods: DetectionScores[] = [
    scoreDetection(broadcastModel(globalFit(problem), o.regions), test, 'centralized'),
    scoreDetection(localFits(problem), test, 'local'),
    scoreDetection(broadcastModel(netlassoFederatedAveraging(problem), o.regions), test, 'federated averaging'),
    chosen.test,
  ];
  return {
    sensors: road.graph.n,
    regions: o.regions,
    regionEdges: regionGraph.edges.length,
    testSamples: test.label.length,
    testIncidents: test.incidents,
    methods,
    path,
  };
}
