// Types of local-cluster.mjs, for TypeScript callers (test/support/nats-cluster.ts).

export interface LocalClusterOptions {
  /** Number of nodes (default 3). */
  nodes?: number;
  /** Address every port binds to (default 127.0.0.1). */
  host?: string;
  /** Where the node configs go (default: a new temp dir, removed by stop()). */
  dir?: string;
  /** The nats-server binary (default $NATS_SERVER or `nats-server` on PATH). */
  serverBin?: string;
  /** How long to wait for every route (default 15000 ms). */
  readyTimeoutMs?: number;
  /** Cluster name (default gossamer-local). */
  clusterName?: string;
  /** Extra configuration text appended to every node's config (e.g. an accounts block). */
  extraConfig?: string;
  /** Called when a node exits while the cluster is not being stopped. */
  onUnexpectedExit?: (name: string, code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface LocalCluster {
  /** The directory holding the node configs. */
  readonly dir: string;
  /** Client URL of each node, e.g. nats://127.0.0.1:40321. */
  readonly urls: readonly string[];
  /** Monitoring base URL of each node, e.g. http://127.0.0.1:40322 (/varz, /routez, /subsz ...). */
  readonly monitor: readonly string[];
  /** server_name of each node: local-a, local-b, local-c. */
  readonly names: readonly string[];
  /** Process id of each node's nats-server. */
  readonly pids: readonly number[];
  /** The last 16 KiB of each node's log (stderr). */
  logs(): string[];
  /** Resolves once every node knows of a subscriber for `subject` (local or across a route). */
  waitForInterest(subject: string, timeoutMs?: number): Promise<void>;
  /** Stops every node (SIGTERM, then SIGKILL after 5 s) and removes the temp dir it made. */
  stop(): Promise<void>;
}

export function startLocalCluster(options?: LocalClusterOptions): Promise<LocalCluster>;
export function freePorts(count: number, host?: string): Promise<number[]>;
export function subjectMatches(pattern: string, subject: string): boolean;
