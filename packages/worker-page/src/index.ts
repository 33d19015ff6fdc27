// @gossamer/worker-page (Node): the server a run hands its worker pages. The page itself is
// src/page.ts, bundled for browsers into dist/page.bundle.js.
export { startPageServer, PAGE_FILES, type PageServer, type PageServerOptions, type PageWorker } from './server.js';
export { parsePageJoin, type PageJoin, type PageState, type PageStateEvent } from './join.js';
