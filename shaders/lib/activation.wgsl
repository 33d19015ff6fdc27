// Activation functions shared by several kernel families. A kernel file pulls them in with the line
//   // @include "lib/activation.wgsl"
// which packages/kernels/scripts/bundle-shaders.mjs replaces by this file's text.
// Codes (the kernels' ACTIVATION override): 0 none, 1 ReLU, 2 GELU (tanh approximation, as in GPT-2).

const GELU_C: f32 = 0.7978845608028654; // sqrt(2 / pi)

// GELU's tanh argument, clamped: tanh saturates long before |t| = 15, and large arguments overflow
// exp-based tanh implementations.
fn gelu_tanh_arg(x: f32) -> f32 {
  return clamp(GELU_C * (x + 0.044715 * x * x * x), -15.0, 15.0);
}

fn gelu(x: f32) -> f32 {
  return 0.5 * x * (1.0 + tanh(gelu_tanh_arg(x)));
}

fn gelu_derivative(x: f32) -> f32 {
  let t = tanh(gelu_tanh_arg(x));
  let dt = GELU_C * (1.0 + 3.0 * 0.044715 * x * x) * (1.0 - t * t);
  return 0.5 * (1.0 + t) + 0.5 * x * dt;
}

fn apply_activation(code: u32, x: f32) -> f32 {
  if (code == 1u) { return max(x, 0.0); }
  if (code == 2u) { return gelu(x); }
  return x;
}

fn activation_derivative(code: u32, x: f32) -> f32 {
  if (code == 1u) { return select(0.0, 1.0, x > 0.0); }
  if (code == 2u) { return gelu_derivative(x); }
  return 1.0;
}
