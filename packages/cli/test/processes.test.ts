import { describe, expect, it } from 'vitest';
import { ChildFailedError, runChildren, type ChildFailure } from '../src/processes.js';

describe('runChildren', () => {
  it("a failed child's stderr tail keeps its own lines, not Dawn's or the Vulkan loader's noise or blank lines", async () => {
    // What a worker process on a machine without a Vulkan driver prints before its own message.
    const script = [
      "console.error('Warning: vkCreateInstance: Found no drivers!')",
      "console.error('Warning: vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER')",
      "console.error('')",
      "console.error('    at CheckVkSuccessImpl (third_party/dawn/src/dawn/native/vulkan/VulkanError.cpp:106)')",
      "console.error('joined the run  worker=w1')",
      "console.error('w1 failed: out of memory')",
      'process.exit(3)',
    ].join(';');
    const failures: ChildFailure[] = [];
    // Every child failed: runChildren reports each, then throws.
    await expect(runChildren([{ label: 'w1', args: ['-e', script] }], () => {}, { onFailure: 'continue', onChildFailure: (f) => failures.push(f) })).rejects.toThrow(ChildFailedError);
    expect(failures).toHaveLength(1);
    expect(failures[0].exit).toBe('code 3');
    expect(failures[0].stderrTail).toBe('joined the run  worker=w1\n  w1 failed: out of memory');
  });
});
