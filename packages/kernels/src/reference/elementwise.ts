// Float64 references of shaders/elementwise.wgsl, for tests and as a CPU fallback.
type Vec = ArrayLike<number>;

export function axpy(alpha: number, x: Vec, y: Vec): Float64Array {
  return Float64Array.from(y, (v, i) => v + alpha * x[i]);
}

export function axpby(alpha: number, x: Vec, beta: number, y: Vec): Float64Array {
  return Float64Array.from(x, (v, i) => alpha * v + beta * y[i]);
}

export function relu(x: Vec): Float64Array {
  return Float64Array.from(x, (v) => Math.max(v, 0));
}

export function reluBackward(x: Vec, grad: Vec): Float64Array {
  return Float64Array.from(grad, (g, i) => (x[i] > 0 ? g : 0));
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (the form the kernel computes). */
export function gelu(x: Vec): Float64Array {
  return Float64Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v ** 3))));
}

export function geluBackward(x: Vec, grad: Vec): Float64Array {
  return Float64Array.from(grad, (g, i) => {
    const v = x[i];
    const t = Math.tanh(GELU_C * (v + 0.044715 * v ** 3));
    const dt = GELU_C * (1 + 3 * 0.044715 * v * v) * (1 - t * t);
    return g * (0.5 * (1 + t) + 0.5 * v * dt);
  });
}
