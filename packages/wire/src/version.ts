/**
 * Protocol version this package speaks: mirrors the highest value of `ProtocolVersion` in
 * proto/gossamer.proto (a test checks they agree). Receivers reject any other version.
 */
export const PROTOCOL_VERSION = 1;

/**
 * NATS's default `max_payload` (1 MiB). The NATS client throws on a larger publish, so every encoded
 * envelope must fit: the chunker sizes chunks so that the whole envelope, framing included, does.
 */
export const DEFAULT_MAX_PAYLOAD = 1_048_576;

/** Longest `run_id` and `sender` accepted, in UTF-8 bytes. */
export const MAX_ID_BYTES = 128;

/** Longest free-text field accepted (`Leave.detail`, `ErrorReport.detail`), in UTF-8 bytes. */
export const MAX_DETAIL_BYTES = 1024;
