// @gossamer/algorithms' Node entry: everything of the browser entry (browser.ts), plus what needs Node.
export * from './browser.js';
export * from './netlasso/index.js';
