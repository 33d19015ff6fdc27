// Tensor ids on the wire, one numbering for every algorithm of this package (D-SGD, the baselines,
// CO2 / SlowMo / Local SGD, healing and the stop agreement), so no two exchanges of a run collide.
/** TransferKey.tensor values. */
export const TENSOR = {
  /** Parameters pushed for gossip mixing. */
  params: 1,
  /** Parameters of the final merge (its rounds are numbered from 0). */
  merge: 2,
  /** Parameters averaged by all-reduce. */
  average: 3,
  /** Gradients averaged by all-reduce (synchronous SGD baseline). */
  gradients: 4,
  /** Metric all-reduces (consensus distance). */
  metrics: 5,
  /** A worker's whole state (parameters, optimizer and outer state) sent to heal or sync a peer. */
  state: 6,
  /** The periodic copy of CO2's / SlowMo's outer state from the canonical worker. */
  resync: 7,
  /** The state a member hands a worker that joins the run (heal.ts JOIN_TENSOR). */
  join: 8,
  /** The first round a signalled worker has not started, sent to agree on a stop round (boundary.ts). */
  stop: 9,
  /** The final merge's commit: a one-value all-reduce every member enters once its merge completed (dsgd/merge-commit.ts). */
  mergeCommit: 10,
} as const;
