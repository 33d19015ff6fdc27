export * from './netlasso/index.js';
export * from './common/index.js';
export * from './dsgd/index.js';
export * from './co2/index.js';
export * from './elastic.js';
export * from './heal.js';
export * from './resume.js';
export * from './boundary.js';
