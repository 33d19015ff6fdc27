// @gossamer/gpu's Node entry: everything of the browser entry (browser.ts), plus what needs Node.
export * from './browser.js';
export { findSwiftShaderIcd, dawnAcquire } from './dawn.js';
