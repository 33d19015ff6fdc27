// Model specifications: a model is a stack of dense and 2-D convolution layers with fused
// activations, ending in a dense layer that produces class logits. The spec is plain JSON (stored in
// checkpoints and run configs); `resolveModel` checks it and computes every layer's shapes, and
// `modelLayout` names the tensors of the flat parameter buffer.
import { ParameterLayout, type TensorSpec } from './layout.js';

export type ActivationName = 'none' | 'relu' | 'gelu';

export interface DenseLayerSpec {
  kind: 'dense';
  units: number;
  activation?: ActivationName;
}

/** A square convolution over NHWC images; stride 1 and padding 0 by default. */
export interface Conv2dLayerSpec {
  kind: 'conv2d';
  filters: number;
  kernel: number;
  stride?: number;
  padding?: number;
  activation?: ActivationName;
}

export type LayerSpec = DenseLayerSpec | Conv2dLayerSpec;

/** Input of a model: a feature vector, or an image (conv layers need one). */
export type InputSpec = { features: number } | { height: number; width: number; channels: number };

export interface ModelSpec {
  /** e.g. "mlp-256-256"; informational. */
  name: string;
  input: InputSpec;
  /** Number of classes: the last layer must be dense with this many units and no activation. */
  classes: number;
  layers: LayerSpec[];
}

/** A layer with its shapes worked out. Shapes of images are [height, width, channels] (NHWC). */
export type ResolvedLayer =
  | {
      kind: 'dense';
      index: number;
      activation: ActivationName;
      inputs: number;
      units: number;
      weight: string;
      bias: string;
    }
  | {
      kind: 'conv2d';
      index: number;
      activation: ActivationName;
      height: number;
      width: number;
      channels: number;
      filters: number;
      kernel: number;
      stride: number;
      padding: number;
      outHeight: number;
      outWidth: number;
      weight: string;
      bias: string;
    };

/** Floats a layer outputs per sample. */
export function outputsPerSample(layer: ResolvedLayer): number {
  return layer.kind === 'dense' ? layer.units : layer.outHeight * layer.outWidth * layer.filters;
}

/** Floats a layer reads per sample. */
export function inputsPerSample(layer: ResolvedLayer): number {
  return layer.kind === 'dense' ? layer.inputs : layer.height * layer.width * layer.channels;
}

function positiveInteger(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`model spec: ${what} must be a positive integer, got ${String(v)}`);
  return v;
}

function activationOf(what: string, a: unknown): ActivationName {
  if (a === undefined) return 'none';
  if (a === 'none' || a === 'relu' || a === 'gelu') return a;
  throw new Error(`model spec: ${what} activation must be none, relu or gelu, got ${String(a)}`);
}

/** Checks a spec and computes every layer's shapes; throws a message naming the bad layer. */
export function resolveModel(spec: ModelSpec): ResolvedLayer[] {
  if (!spec || !Array.isArray(spec.layers) || spec.layers.length === 0) throw new Error('model spec: needs at least one layer');
  const classes = positiveInteger('classes', spec.classes);
  let image: { height: number; width: number; channels: number } | undefined;
  let features: number;
  if ('features' in spec.input) {
    features = positiveInteger('input.features', spec.input.features);
  } else {
    image = {
      height: positiveInteger('input.height', spec.input.height),
      width: positiveInteger('input.width', spec.input.width),
      channels: positiveInteger('input.channels', spec.input.channels),
    };
    features = image.height * image.width * image.channels;
  }
  const layers: ResolvedLayer[] = [];
  spec.layers.forEach((l, index) => {
    const where = `layer ${index} (${l.kind})`;
    const names = { weight: `layer${index}.weight`, bias: `layer${index}.bias` };
    if (l.kind === 'dense') {
      const units = positiveInteger(`${where} units`, l.units);
      layers.push({ kind: 'dense', index, activation: activationOf(where, l.activation), inputs: features, units, ...names });
      features = units;
      image = undefined;
    } else if (l.kind === 'conv2d') {
      if (!image) throw new Error(`model spec: ${where} needs an image input (height, width, channels), but follows a dense layer or a vector input`);
      const kernel = positiveInteger(`${where} kernel`, l.kernel);
      const stride = positiveInteger(`${where} stride`, l.stride ?? 1);
      const padding = l.padding ?? 0;
      if (!Number.isInteger(padding) || padding < 0) throw new Error(`model spec: ${where} padding must be a non-negative integer, got ${padding}`);
      const filters = positiveInteger(`${where} filters`, l.filters);
      const outHeight = Math.floor((image.height + 2 * padding - kernel) / stride) + 1;
      const outWidth = Math.floor((image.width + 2 * padding - kernel) / stride) + 1;
      if (outHeight < 1 || outWidth < 1) throw new Error(`model spec: ${where}: a ${kernel}×${kernel} kernel does not fit a ${image.height}×${image.width} input`);
      layers.push({ kind: 'conv2d', index, activation: activationOf(where, l.activation), ...image, filters, kernel, stride, padding, outHeight, outWidth, ...names });
      image = { height: outHeight, width: outWidth, channels: filters };
      features = outHeight * outWidth * filters;
    } else {
      throw new Error(`model spec: ${where}: unknown layer kind (dense or conv2d)`);
    }
  });
  const last = layers[layers.length - 1];
  if (last.kind !== 'dense' || last.units !== classes || last.activation !== 'none') {
    throw new Error(`model spec: the last layer must be dense with ${classes} units (the classes) and no activation: it produces the logits`);
  }
  return layers;
}

/** The tensors of a model, in the order of the flat buffer, with their initializers. */
export function modelTensors(spec: ModelSpec): TensorSpec[] {
  const tensors: TensorSpec[] = [];
  for (const l of resolveModel(spec)) {
    const fanIn = l.kind === 'dense' ? l.inputs : l.kernel * l.kernel * l.channels;
    const fanOut = l.kind === 'dense' ? l.units : l.filters;
    // He init before ReLU/GELU, Glorot for the linear logits layer.
    const init = l.activation === 'none' ? ({ kind: 'glorot-uniform', fanIn, fanOut } as const) : ({ kind: 'he-uniform', fanIn } as const);
    tensors.push({ name: l.weight, shape: [fanIn, fanOut], init });
    tensors.push({ name: l.bias, shape: [fanOut], init: { kind: 'zeros' } });
  }
  return tensors;
}

export function modelLayout(spec: ModelSpec): ParameterLayout {
  return ParameterLayout.build(modelTensors(spec));
}

/** Multinomial logistic regression: one dense layer. */
export function softmaxRegression(features: number, classes: number): ModelSpec {
  return { name: 'softmax', input: { features }, classes, layers: [{ kind: 'dense', units: classes }] };
}

/** A multilayer perceptron with the given hidden widths. */
export function mlp(features: number, hidden: readonly number[], classes: number, activation: ActivationName = 'relu'): ModelSpec {
  return {
    name: `mlp-${hidden.join('-')}${activation === 'relu' ? '' : `-${activation}`}`,
    input: { features },
    classes,
    layers: [...hidden.map((units) => ({ kind: 'dense' as const, units, activation })), { kind: 'dense', units: classes }],
  };
}

/**
 * A small CNN for 28×28 digits: two strided 5×5 convolutions (no pooling layers: stride 2 halves the
 * resolution at no extra kernels), a dense hidden layer and the logits.
 */
export function smallCnn(height = 28, width = 28, channels = 1, classes = 10): ModelSpec {
  return {
    name: 'cnn',
    input: { height, width, channels },
    classes,
    layers: [
      { kind: 'conv2d', filters: 16, kernel: 5, stride: 2, padding: 2, activation: 'relu' },
      { kind: 'conv2d', filters: 32, kernel: 5, stride: 2, padding: 2, activation: 'relu' },
      { kind: 'dense', units: 128, activation: 'relu' },
      { kind: 'dense', units: classes },
    ],
  };
}

/**
 * Parses the CLI's `--model` value: `softmax`, `mlp:256,256` (hidden widths; `mlp:256,256:gelu`
 * for GELU) or `cnn`, for inputs of the given shape ([features] or [channels, height, width] as
 * datasets report it).
 */
export function parseModelSpec(text: string, featureShape: readonly number[], classes: number): ModelSpec {
  const [kind, widths, activation] = text.trim().split(':');
  const features = featureShape.reduce((a, b) => a * b, 1);
  switch (kind) {
    case 'softmax':
    case 'logistic':
      return softmaxRegression(features, classes);
    case 'mlp': {
      const hidden = (widths ?? '256,256')
        .split(',')
        .filter((w) => w !== '')
        .map((w) => {
          const v = Number(w);
          if (!Number.isInteger(v) || v < 1) throw new Error(`--model ${text}: hidden width "${w}" is not a positive integer (e.g. mlp:256,256)`);
          return v;
        });
      return mlp(features, hidden, classes, activationOf('mlp', activation ?? 'relu'));
    }
    case 'cnn': {
      if (featureShape.length !== 3) throw new Error(`--model cnn needs image inputs [channels, height, width]; this dataset's samples have shape [${featureShape.join(', ')}]`);
      const [channels, height, width] = featureShape;
      return smallCnn(height, width, channels, classes);
    }
    default:
      throw new Error(`--model ${text}: unknown model; use softmax, mlp:<widths> (e.g. mlp:256,256) or cnn`);
  }
}
