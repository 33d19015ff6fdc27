// A GPT's architecture: `gpt:<layers>x<width>[:heads=H][:ctx=T][:mlp=M]`. The vocabulary size is
// not part of the text: it comes from the tokenizer once the data is known (`withVocab`).

/** Head sizes the fused attention kernel supports (attentionTiles in @gossamer/kernels). */
export const GPT_HEAD_SIZES = [16, 32, 48, 64] as const;

export interface GptSpec {
  /** Transformer blocks. */
  layers: number;
  /** Embedding width C. */
  width: number;
  /** Attention heads H; head size D = C / H is one of GPT_HEAD_SIZES. */
  heads: number;
  /** Context length T: positions of wpe, and tokens per sequence of a batch. */
  ctx: number;
  /** Hidden width M of each block's MLP (GPT-2: 4·C). */
  mlp: number;
}

/** A spec with its vocabulary: everything needed to lay out the parameters. */
export interface GptConfig extends GptSpec {
  /** Vocabulary size V (rows of wte, columns of the logits). */
  vocab: number;
}

function positive(text: string, what: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new Error(`model ${text}: ${what} "${v}" is not a positive integer`);
  return n;
}

/** Largest supported head size dividing the width, for a default head count. */
function defaultHeads(width: number): number | undefined {
  for (const d of [...GPT_HEAD_SIZES].reverse()) if (width % d === 0) return width / d;
  return undefined;
}

/** Throws with the fix when a spec cannot be built; returns it otherwise. */
export function checkGptSpec(spec: GptSpec, text = 'gpt'): GptSpec {
  for (const [what, v] of [['layers', spec.layers], ['width', spec.width], ['heads', spec.heads], ['ctx', spec.ctx], ['mlp', spec.mlp]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`model ${text}: ${what} must be a positive integer, got ${v}`);
  }
  if (spec.width % spec.heads !== 0) throw new Error(`model ${text}: width ${spec.width} is not divisible by heads=${spec.heads}`);
  const d = spec.width / spec.heads;
  if (!(GPT_HEAD_SIZES as readonly number[]).includes(d)) {
    throw new Error(`model ${text}: head size width/heads = ${spec.width}/${spec.heads} = ${d}; it must be one of ${GPT_HEAD_SIZES.join(', ')}`);
  }
  return spec;
}

/**
 * Parses `gpt:<layers>x<width>[:heads=H][:ctx=T][:mlp=M]`, e.g. `gpt:4x128:heads=4:ctx=64`.
 * Defaults: heads so that the head size is the largest of 64, 48, 32, 16 dividing the width;
 * ctx 128; mlp 4·width.
 */
export function parseGptSpec(text: string): GptSpec {
  const parts = text.trim().split(':');
  if (parts[0] !== 'gpt') throw new Error(`model ${text}: a GPT spec starts with "gpt:" (e.g. gpt:4x128:heads=4)`);
  const shape = /^(\d+)x(\d+)$/.exec(parts[1] ?? '');
  if (!shape) throw new Error(`model ${text}: expected gpt:<layers>x<width>, e.g. gpt:4x128`);
  const layers = positive(text, 'layers', shape[1]);
  const width = positive(text, 'width', shape[2]);
  const options = new Map<string, number>();
  for (const part of parts.slice(2)) {
    const kv = /^(heads|ctx|mlp)=(.*)$/.exec(part);
    if (!kv) throw new Error(`model ${text}: unknown option "${part}"; options are heads=H, ctx=T, mlp=M`);
    if (options.has(kv[1])) throw new Error(`model ${text}: option ${kv[1]} given twice`);
    options.set(kv[1], positive(text, kv[1], kv[2]));
  }
  const heads = options.get('heads') ?? defaultHeads(width);
  if (heads === undefined) throw new Error(`model ${text}: width ${width} is not a multiple of 16, so no head size ${GPT_HEAD_SIZES.join('/')} fits`);
  return checkGptSpec({ layers, width, heads, ctx: options.get('ctx') ?? 128, mlp: options.get('mlp') ?? 4 * width }, text);
}

/** The spec as text, the inverse of parseGptSpec. */
export function formatGptSpec(spec: GptSpec): string {
  return `gpt:${spec.layers}x${spec.width}:heads=${spec.heads}:ctx=${spec.ctx}:mlp=${spec.mlp}`;
}

/** A spec with the vocabulary size the tokenizer reports. */
export function withVocab(spec: GptSpec, vocab: number): GptConfig {
  if (!Number.isSafeInteger(vocab) || vocab < 2) throw new Error(`GPT: vocab must be an integer ≥ 2, got ${vocab}`);
  return { ...checkGptSpec(spec), vocab };
}

/** Head size D = C / H. */
export function headSize(spec: GptSpec): number {
  return spec.width / spec.heads;
}
