// Types of gen-nkeys.mjs, for TypeScript callers (test/browser/transport.test.ts).

export interface NatsUser {
  readonly name: string;
  readonly publicKey: string;
  readonly role: 'worker' | 'coordinator';
}

/** The auth.conf text for the given users of `run` ('*': every run). */
export function authConfig(run: string, users: readonly NatsUser[]): string;

/** Generates the keys and writes auth.conf and the seeds into `out`. */
export function generate(options: { run: string; workers: string[]; coordinator?: string; out: string }): Promise<(NatsUser & { seedFile: string })[]>;
