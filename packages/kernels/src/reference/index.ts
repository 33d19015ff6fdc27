export * as elementwise from './elementwise.js';
