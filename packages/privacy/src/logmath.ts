/**
 * Log-space arithmetic and log erfc for the accountant. RDP of the sampled Gaussian sums terms
 * like exp((k² − k)/(2σ²)) that overflow float64 long before α = 256 at σ = 0.3, so every sum is
 * kept as a logarithm.
 */

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** log(e^a + e^b), exact when one side is −∞. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const hi = Math.max(a, b);
  return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

/** log Σ e^{x_i}; −∞ for an empty list. */
export function logSumExp(xs: readonly number[]): number {
  let hi = -Infinity;
  for (const x of xs) if (x > hi) hi = x;
  if (hi === -Infinity || hi === Infinity) return hi;
  let s = 0;
  for (const x of xs) s += Math.exp(x - hi);
  return hi + Math.log(s);
}

/** log(e^a − e^b) for a ≥ b; −∞ when equal. */
export function logSubExp(a: number, b: number): number {
  if (b > a) throw new RangeError(`logSubExp: ${b} > ${a}, the difference would be negative`);
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  return a + Math.log1p(-Math.exp(b - a));
}

/** log(e^x − 1) for x > 0, without cancellation for small x or overflow for large x. */
export function logExpm1(x: number): number {
  if (!(x > 0)) throw new RangeError(`logExpm1 needs x > 0, got ${x}`);
  return x > 36 ? x + Math.log1p(-Math.exp(-x)) : Math.log(Math.expm1(x));
}

/** log(1 + e^x) — log A from log(A − 1) without losing A − 1 when it is tiny. */
export function log1pExp(x: number): number {
  return x > 36 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * erf(x) for 0 ≤ x ≤ ~2 from the series erf(x) = (2/√π) e^{−x²} Σ_n 2ⁿ x^{2n+1} / (2n+1)!!
 * (Abramowitz & Stegun 7.1.6): all terms are positive, so there is no cancellation.
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * log(√π e^{x²} erfc(x)) for x ≥ 1.5 from the Laplace continued fraction
 * √π e^{x²} erfc(x) = 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) (A&S 7.1.14), evaluated by the
 * modified Lentz method. It converges fast for large x and never underflows.
 */
function logScaledErfcCf(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = x + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    d = 1 / d;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -Math.log(f);
}

/** log erfc(x), accurate to ~1e-14 relative on erfc, finite for any finite x (erfc(30) ≈ 1e-393). */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return -Infinity;
  if (x === -Infinity) return Math.LN2;
  if (x < 0) return Math.log(2 - Math.exp(logErfc(-x)));
  if (x < 1.5) return Math.log1p(-erfSeries(x));
  return -x * x - LOG_SQRT_PI + logScaledErfcCf(x);
}
