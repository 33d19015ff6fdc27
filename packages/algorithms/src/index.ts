export * from './netlasso/index.js';
export * from './dsgd/index.js';
