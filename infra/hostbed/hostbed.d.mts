// Types of hostbed.mjs, for TypeScript callers (test/support/hosts.ts).
import type { ChildProcess, SpawnOptions } from 'node:child_process';

export interface HostBedOptions {
  /** Number of hosts, 3 … 26 (default 3). */
  hosts?: number;
  /** The nats-server binary (default $NATS_SERVER or `nats-server` on PATH). */
  serverBin?: string;
}

export interface Host {
  readonly index: number;
  /** nats-a, nats-b, …: the host name every host's /etc/hosts gives its address. */
  readonly name: string;
  /** Its network namespace. */
  readonly ns: string;
  /** Its address, in 10.77.0.0/24. */
  readonly ip: string;
  /** Its NATS node's client URL, nats://<name>:4222. */
  readonly url: string;
  /** Its end of the link in the bridge's namespace (what cut() downs). */
  readonly veth: string;
}

export interface HostBed {
  /** gtb<pid>x<n>: the start of every name the bed made. */
  readonly prefix: string;
  /** Scratch directory (the node configs); removed by stop(). */
  readonly dir: string;
  readonly hosts: readonly Host[];
  /** Host i's node first, then every other node: what a worker on host i is given. */
  natsUrls(i: number): string[];
  /** Spawns `command args` inside host i's namespace (stdout and stderr piped); stop() kills it. */
  exec(i: number, command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** (Re)starts host i's NATS node and waits for /healthz. */
  startNats(i: number): Promise<void>;
  /** Kills host i's NATS node (SIGKILL unless told) and resolves once it has exited. */
  killNats(i: number, signal?: NodeJS.Signals): Promise<void>;
  natsRunning(i: number): boolean;
  /** The last 16 KiB of host i's nats-server log. */
  natsLog(i: number): string;
  /** The hosts host i's node has a route to, by name. */
  routes(i: number): Promise<string[]>;
  /** The names of host i's node's client connections (a Gossamer worker's is `gossamer <run> <id>`). */
  connz(i: number): Promise<string[]>;
  /** Waits until every host of `group` (default: all) routes to every other host of it. */
  waitForRoutes(group?: readonly number[], timeoutMs?: number): Promise<void>;
  /** Takes host i's link down (its bridge port): nothing passes between it and the others. */
  cut(i: number): void;
  restore(i: number): void;
  /** Partitions the hosts: each group is on a bridge of its own. */
  split(groups: readonly (readonly number[])[]): void;
  /** One bridge again, every link up. */
  heal(): void;
  /** Every process the bed started (for the leftover check). */
  pids(): number[];
  /** Kills every process in the bed's namespaces and deletes them; idempotent. */
  stop(): Promise<void>;
  /** What of the bed still exists: [] after stop(). */
  leftovers(): string[];
}

export const SUBNET: string;
export function hostName(i: number): string;
export function startHostBed(options?: HostBedOptions): Promise<HostBed>;
export function removeBed(prefix: string): void;
export function leftovers(prefix: string, pids?: readonly number[]): string[];
export function sweepStaleBeds(): string[];
export function checkNetnsAvailable(): void;
