// A NATS credentials text (a .creds file's JWT + seed, or a bare nkey user seed) as an authenticator.
// No file access here, so that a browser worker can use it with credentials it was handed as text;
// nats-security.ts reads them from files in Node.
import { credsAuthenticator, nkeyAuthenticator, type Authenticator } from '@nats-io/nats-core';
import { TransportUsageError } from './errors.js';

const NKEY_USER_SEED = /^SU[A-Z2-7]{56}$/;

/** What kind of credentials a text holds ('creds' or 'nkey'); throws with the fix if neither. `source` names it in the message. */
export function credentialsKind(text: string, source: string): 'creds' | 'nkey' {
  if (/-----BEGIN NATS USER JWT-----/.test(text) && /-----BEGIN USER NKEY SEED-----/.test(text)) return 'creds';
  if (NKEY_USER_SEED.test(text.trim())) return 'nkey';
  throw new TransportUsageError(
    `${source} holds neither NATS credentials (a .creds file with a user JWT and seed) nor an nkey user seed (one line starting with SU); ` +
      'give the file your NATS operator issued for this worker (e.g. nkeys/w3.nk from infra/nats/secure/gen-nkeys.mjs)',
  );
}

/** The authenticator for credentials `text` (see credentialsKind). */
export function credentialsAuthenticator(text: string, source = 'the credentials'): Authenticator {
  const bytes = new TextEncoder().encode(text.trim());
  return credentialsKind(text, source) === 'creds' ? credsAuthenticator(bytes) : nkeyAuthenticator(bytes);
}
