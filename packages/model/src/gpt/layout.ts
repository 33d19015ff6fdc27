// The GPT's tensors in the flat parameter buffer, GPT-2's initialisation, and the ranges that get
// no weight decay. The output head is tied to wte (logits = h·wteᵀ), so it has no tensor.
import type { ParamRange } from '@gossamer/kernels';
import { ParameterLayout, type TensorSpec } from '../layout.js';
import type { GptConfig } from './spec.js';

/** GPT-2's standard deviation of weights and embeddings. */
export const GPT_INIT_STD = 0.02;

/** Tensor names of block `l`. */
export function blockNames(l: number) {
  const p = `h${l}`;
  return {
    ln1Gamma: `${p}.ln1.gamma`,
    ln1Beta: `${p}.ln1.beta`,
    qkvWeight: `${p}.attn.qkv.weight`,
    qkvBias: `${p}.attn.qkv.bias`,
    projWeight: `${p}.attn.proj.weight`,
    projBias: `${p}.attn.proj.bias`,
    ln2Gamma: `${p}.ln2.gamma`,
    ln2Beta: `${p}.ln2.beta`,
    fcWeight: `${p}.mlp.fc.weight`,
    fcBias: `${p}.mlp.fc.bias`,
    mlpProjWeight: `${p}.mlp.proj.weight`,
    mlpProjBias: `${p}.mlp.proj.bias`,
  } as const;
}

export const GPT_NAMES = { wte: 'wte', wpe: 'wpe', lnfGamma: 'lnf.gamma', lnfBeta: 'lnf.beta' } as const;

/**
 * Tensors in order: wte [V, C], wpe [T, C], per block ln1 γ/β, attn qkv W [C, 3C] + b, attn proj
 * W [C, C] + b, ln2 γ/β, mlp fc W [C, M] + b, mlp proj W [M, C] + b; then the final LN's γ/β.
 * Weights are stored [in, out] (row-major), as matmul's B operand. Residual projections get std
 * 0.02/√(2·layers) (GPT-2: each block adds two of them to the residual stream).
 */
export function gptTensors(cfg: GptConfig): TensorSpec[] {
  const { vocab: V, width: C, ctx: T, mlp: M } = cfg;
  const normal = { kind: 'normal', std: GPT_INIT_STD } as const;
  const residual = { kind: 'normal', std: GPT_INIT_STD / Math.sqrt(2 * cfg.layers) } as const;
  const zeros = { kind: 'zeros' } as const;
  const ones = { kind: 'constant', value: 1 } as const;
  const out: TensorSpec[] = [
    { name: GPT_NAMES.wte, shape: [V, C], init: normal },
    { name: GPT_NAMES.wpe, shape: [T, C], init: normal },
  ];
  for (let l = 0; l < cfg.layers; l++) {
    const n = blockNames(l);
    out.push(
      { name: n.ln1Gamma, shape: [C], init: ones },
      { name: n.ln1Beta, shape: [C], init: zeros },
      { name: n.qkvWeight, shape: [C, 3 * C], init: normal },
      { name: n.qkvBias, shape: [3 * C], init: zeros },
      { name: n.projWeight, shape: [C, C], init: residual },
      { name: n.projBias, shape: [C], init: zeros },
      { name: n.ln2Gamma, shape: [C], init: ones },
      { name: n.ln2Beta, shape: [C], init: zeros },
      { name: n.fcWeight, shape: [C, M], init: normal },
      { name: n.fcBias, shape: [M], init: zeros },
      { name: n.mlpProjWeight, shape: [M, C], init: residual },
      { name: n.mlpProjBias, shape: [C], init: zeros },
    );
  }
  out.push({ name: GPT_NAMES.lnfGamma, shape: [C], init: ones }, { name: GPT_NAMES.lnfBeta, shape: [C], init: zeros });
  return out;
}

export function gptLayout(cfg: GptConfig): ParameterLayout {
  return ParameterLayout.build(gptTensors(cfg));
}

/** True for the tensors AdamW should not decay: LayerNorm gains and biases, all biases, embeddings. */
export function isNoDecayTensor(name: string): boolean {
  return name === GPT_NAMES.wte || name === GPT_NAMES.wpe || name.endsWith('.gamma') || name.endsWith('.beta') || name.endsWith('.bias');
}

/**
 * The no-weight-decay ranges of a GPT layout for adamwStepSelectiveDecay, each extended over the
 * padding after its tensor (padding is zero with zero gradient, so decaying it or not is the same,
 * and merged ranges mean fewer AdamW dispatches).
 */
export function gptNoDecayRanges(layout: ParameterLayout): ParamRange[] {
  const out: ParamRange[] = [];
  layout.segments.forEach((s, i) => {
    if (!isNoDecayTensor(s.name)) return;
    const end = i + 1 < layout.segments.length ? layout.segments[i + 1].offset : layout.length;
    const last = out[out.length - 1];
    if (last && last.offset + last.length === s.offset) out[out.length - 1] = { offset: last.offset, length: end - last.offset };
    else out.push({ offset: s.offset, length: end - s.offset });
  });
  return out;
}
