// Host-side checks of WebGPU's binding rules, so a mistake fails with a clear message at record time
// instead of a validation error at submit. Internal: not exported from the package index.
import type { F32Span } from './span.js';

/**
 * In one dispatch a buffer bound as writable storage may not be bound again (WebGPU usage scopes),
 * even at a disjoint range: each writable operand needs a buffer of its own. Read-only operands may
 * share a buffer with each other.
 */
export function checkWritableUnaliased(op: string, writable: readonly F32Span[], readOnly: readonly F32Span[] = []): void {
  const counts = new Map<GPUBuffer, number>();
  for (const s of [...writable, ...readOnly]) counts.set(s.buffer, (counts.get(s.buffer) ?? 0) + 1);
  for (const s of writable) {
    if ((counts.get(s.buffer) ?? 0) > 1) {
      throw new Error(`${op}: a written operand shares its buffer with another operand; WebGPU forbids that aliasing, use separate buffers`);
    }
  }
}
