// @gossamer/model's Node entry: everything of the browser entry (browser.ts), plus what needs Node.
export * from './browser.js';
export { loadCheckpointFile, saveCheckpointFile } from './checkpoint-file.js';
