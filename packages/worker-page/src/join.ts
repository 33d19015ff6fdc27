// What a worker page is told to join a run, and what it reports back: the one contract between the
// page (page.ts, in the browser) and the run's page server (server.ts, in Node).

/** A page's join parameters (GET from the URL in the page's `?join=`). URLs may be relative to the page. */
export interface PageJoin {
  readonly runId: string;
  /** The worker this page hosts (w<index>) and its index into the run's workers. */
  readonly worker: string;
  readonly index: number;
  /** The nats-server websocket listener(s), ws:// or wss://. */
  readonly servers: readonly string[];
  /** This worker's nkey seed (SU…) or .creds text; none on an open server. */
  readonly credentials?: string;
  readonly configUrl: string;
  readonly dataUrl: string;
  /** POST target of the worker's events (one JSON object per request, in order). */
  readonly eventsUrl: string;
  /** POST target of the final checkpoint (bytes). */
  readonly resultUrl: string;
  readonly peerTimeoutMs: number;
  readonly joinTimeoutMs: number;
}

/** The page's own events, beside the worker loop's (WorkerEvent). */
export interface PageStateEvent {
  readonly type: 'page';
  readonly worker: string;
  readonly state: PageState;
  readonly detail?: string;
}

/**
 * loading → joining → training → done, or failed (an error, or the device was lost: a leave), or
 * closed (the tab went away mid-run: a leave).
 */
export type PageState = 'loading' | 'joining' | 'training' | 'done' | 'failed' | 'closed';

function field<T>(o: Record<string, unknown>, key: string, check: (v: unknown) => v is T, what: string): T {
  const v = o[key];
  if (!check(v)) throw new Error(`join parameters: ${key} must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isMs = (v: unknown): v is number => typeof v === 'number' && v > 0;
const isServers = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && /^wss?:\/\//.test(s));

/** Checks join parameters read as JSON; the error names the field. */
export function parsePageJoin(value: unknown): PageJoin {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('join parameters: expected one JSON object');
  const o = value as Record<string, unknown>;
  const credentials = o.credentials;
  if (credentials !== undefined && !isString(credentials)) throw new Error('join parameters: credentials must be a non-empty string when given');
  const join: PageJoin = {
    runId: field(o, 'runId', isString, 'a run id'),
    worker: field(o, 'worker', isString, 'a worker id'),
    index: field(o, 'index', isCount, 'a worker index'),
    servers: field(o, 'servers', isServers, 'a list of ws:// or wss:// URLs'),
    ...(credentials !== undefined ? { credentials } : {}),
    configUrl: field(o, 'configUrl', isString, 'a URL'),
    dataUrl: field(o, 'dataUrl', isString, 'a URL'),
    eventsUrl: field(o, 'eventsUrl', isString, 'a URL'),
    resultUrl: field(o, 'resultUrl', isString, 'a URL'),
    peerTimeoutMs: field(o, 'peerTimeoutMs', isMs, 'a positive number of ms'),
    joinTimeoutMs: field(o, 'joinTimeoutMs', isMs, 'a positive number of ms'),
  };
  if (join.worker !== `w${join.index}`) throw new Error(`join parameters: worker ${join.worker} is not w${join.index}`);
  return join;
}
