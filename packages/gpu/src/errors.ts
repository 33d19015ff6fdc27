/** Where Debian's chromium package installs SwiftShader's Vulkan ICD (a CPU Vulkan driver). */
export const SWIFTSHADER_ICD_CANDIDATES = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium/vk_swiftshader_icd.json',
];

/** Thrown when no WebGPU adapter can be found; the message says how to get one. */
export class GpuUnavailableError extends Error {
  constructor(detail: string) {
    super(
      `No WebGPU adapter: ${detail}\n` +
        'How to fix:\n' +
        '  - No GPU (CI, laptops, containers): install the SwiftShader CPU driver that Debian ships with Chromium,\n' +
        '      sudo apt-get install -y chromium libvulkan1\n' +
        '    then run with --adapter swiftshader (or GOSSAMER_ADAPTER=swiftshader), or set\n' +
        '      VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json\n' +
        '  - With a GPU: install its Vulkan driver (NVIDIA driver, or mesa-vulkan-drivers for AMD/Intel) and\n' +
        '    libvulkan1; `vulkaninfo --summary` (package vulkan-tools) must list it.\n' +
        '  - `gossamer doctor` checks all of this.',
    );
    this.name = 'GpuUnavailableError';
  }
}

/** A WebGPU validation or out-of-memory error surfaced from the device, with the kernel it came from. */
export class GpuValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuValidationError';
  }
}
