// Network Lasso across a membership view change (docs/elastic.md, "Network Lasso"): the members of
// the new view agree on the λ to resume at, and a worker that joined (a restarted one, with no state)
// takes the previous λ's solution from a member that has it.
import type { MembershipView, TransferKey, Transport } from '@gossamer/transport';
import { isViewFault, orderedMembers, type ViewFollower } from '../elastic.js';
import { NETLASSO_TENSOR } from './part.js';

/** The solution of one λ, to warm-start the next from. */
export interface LambdaSolution {
  readonly lambdaIndex: number;
  /** [N × d], every node's x. */
  readonly x: Float32Array;
  readonly rho: number;
}

/** What this worker brings to the agreement. */
export interface RegroupState {
  /** λs finished (the index of the next); 0 for a joiner. */
  readonly finished: number;
  /** False for a joiner until it has taken a member's solution. */
  readonly hasState: boolean;
  /** The solution of λ `i`, for the λs this worker holds. */
  readonly solution: (lambdaIndex: number) => LambdaSolution | undefined;
  readonly lambdas: number;
  /** N·d: the length of x. */
  readonly xLength: number;
  /** Bytes every worker of the run computes identically (a problem fingerprint, ≤ 32 used), checked in every regroup. */
  readonly fingerprint: Uint8Array | undefined;
  readonly receiveTimeoutMs: number | undefined;
}

export interface Regrouped {
  readonly view: MembershipView;
  /** members[p] hosts part p. */
  readonly members: string[];
  /** The first λ (index) some member with state has not finished. */
  readonly resume: number;
  /** Members that joined with no state, and the member that handed them the solution of λ resume − 1. */
  readonly joiners: string[];
  readonly source: string;
  /** For a joiner: the solution it took (undefined when the run resumes at the first λ). */
  readonly received: LambdaSolution | undefined;
}

/** Bytes of the fingerprint compared (a SHA-256). */
const FINGERPRINT_BYTES = 32;

/**
 * After a view change: waits for the new view, then agrees with its members on the λ to resume at,
 * the first one some member with state has not finished. Finished counts differ by at most one
 * (finishing a λ takes every member's share of its report all-reduce), and each keeps every report,
 * so all of them hold the previous λ's x to start from. One all-reduce carries a histogram of the
 * counts and which members have state; a member without (a joiner) then receives ρ and x of λ
 * resume − 1 from the first member with state. Before all this the members check that they built
 * the same problem (a joiner may not have). A further change during any of it starts the
 * agreement again in the next view.
 */
export async function regroup(follower: ViewFollower, transport: Transport, initial: readonly string[], state: RegroupState): Promise<Regrouped> {
  const self = transport.id;
  for (;;) {
    await follower.next();
    const view = follower.current;
    const members = orderedMembers(initial, view);
    const group = { op: 'sum', group: members, viewEpoch: view.epoch } as const;
    const L = state.lambdas;
    try {
      if (members.length > 1 && !(await fingerprintsAgree(transport, { tensor: NETLASSO_TENSOR.agree, round: view.epoch }, group, state.fingerprint))) {
        // The members agreed at the start: a joiner built another problem. It stops; its leave is the next view.
        if (!state.hasState) throw new Error(`Network Lasso: ${DIFFERENT_PROBLEMS}`);
        continue;
      }
      const vote = new Float32Array(L + 1 + members.length);
      if (state.hasState) {
        vote[state.finished] = 1;
        vote[L + 1 + members.indexOf(self)] = 1;
      }
      const counts = members.length > 1 ? await transport.allReduce({ tensor: NETLASSO_TENSOR.resume, round: view.epoch }, vote, group) : vote;
      const stateful = members.filter((_, i) => counts[L + 1 + i] > 0);
      if (stateful.length === 0) throw new Error(`Network Lasso: no member of view ${view.epoch} (${members.join(', ')}) holds a solution to continue from`);
      const resume = counts.subarray(0, L + 1).findIndex((c) => c > 0);
      const joiners = members.filter((m) => !stateful.includes(m));
      const source = stateful[0];
      const key = { tensor: NETLASSO_TENSOR.join, round: view.epoch };
      let received: LambdaSolution | undefined;
      if (resume > 0 && self === source && joiners.length > 0) {
        const solution = state.solution(resume - 1);
        if (solution === undefined) throw new Error(`Network Lasso: ${self} holds no solution of λ #${resume - 1} to hand over`);
        const payload = new Float32Array(1 + state.xLength);
        payload[0] = solution.rho;
        payload.set(solution.x, 1);
        await Promise.all(joiners.map((j) => transport.send(j, key, payload, { viewEpoch: view.epoch })));
      } else if (resume > 0 && !state.hasState) {
        const m = await transport.receive(source, key, { viewEpoch: view.epoch, timeoutMs: state.receiveTimeoutMs });
        if (m.length !== 1 + state.xLength) throw new Error(`Network Lasso: ${source} handed over ${m.length} floats, this worker expects ${1 + state.xLength}: ${DIFFERENT_PROBLEMS}`);
        received = { lambdaIndex: resume - 1, rho: m[0], x: m.slice(1) };
      }
      return { view, members, resume, joiners, source, received };
    } catch (error) {
      if (!isViewFault(error)) throw error;
    }
  }
}

const DIFFERENT_PROBLEMS = "the run's workers built different problems: give the joiner the same --problem, --workers, --lambdas and ADMM options as the run";

/**
 * Whether every worker of `options.group` holds the same fingerprint (≤ 32 bytes used): one
 * fixed-size all-reduce of its bytes and of their squares, so workers whose problems differ in size
 * cannot break it; all equal ⇔ (Σb)² = n·Σb² byte by byte (Cauchy–Schwarz), exact in float32.
 */
export async function fingerprintsAgree(
  transport: Transport,
  key: TransferKey,
  options: { group: readonly string[]; viewEpoch?: number; timeoutMs?: number },
  fingerprint: Uint8Array | undefined,
): Promise<boolean> {
  const data = new Float32Array(2 * FINGERPRINT_BYTES);
  fingerprint?.subarray(0, FINGERPRINT_BYTES).forEach((b, i) => {
    data[i] = b;
    data[FINGERPRINT_BYTES + i] = b * b;
  });
  const sums = await transport.allReduce(key, data, { ...options, op: 'sum' });
  const n = options.group.length;
  for (let i = 0; i < FINGERPRINT_BYTES; i++) if (sums[i] * sums[i] !== n * sums[FINGERPRINT_BYTES + i]) return false;
  return true;
}
