// Credentials and TLS for a NATS connection, from the files a cluster operator hands out: a NATS
// credentials file (user JWT + seed, as `nsc` writes) or a bare nkey seed (as infra/nats/secure's
// gen-nkeys.mjs writes), a CA certificate to trust, and optionally a client certificate and key.
import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import { TransportUsageError } from './errors.js';

export interface NatsSecurity {
  /** Path of a .creds file (JWT + nkey seed) or of a file holding one nkey user seed (SU…). */
  readonly credentialsFile?: string;
  /** Path of the CA certificate (PEM) that signed the server's certificate; turns TLS on. */
  readonly tlsCaFile?: string;
  /** Client certificate and key (PEM) for servers that verify clients (mutual TLS). */
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
}

const NKEY_USER_SEED = /^SU[A-Z2-7]{56}$/;

/** What kind of credentials a file holds ('creds' or 'nkey'); throws with the fix if neither. */
export function credentialsKind(text: string, file: string): 'creds' | 'nkey' {
  if (/-----BEGIN NATS USER JWT-----/.test(text) && /-----BEGIN USER NKEY SEED-----/.test(text)) return 'creds';
  if (NKEY_USER_SEED.test(text.trim())) return 'nkey';
  throw new TransportUsageError(
    `${file} holds neither NATS credentials (a .creds file with a user JWT and seed) nor an nkey user seed (one line starting with SU); ` +
      'give the file your NATS operator issued for this worker (e.g. nkeys/w3.nk from infra/nats/secure/gen-nkeys.mjs)',
  );
}

function readFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new TransportUsageError(`cannot read the ${what} ${file}: ${(e as Error).message}`);
  }
}

/**
 * NATS connection options for the given credentials and TLS files (nothing set → no options).
 * Files are read now, so a wrong path fails before connecting, with the path in the message.
 */
export function natsSecurityOptions(security: NatsSecurity): Partial<NodeConnectionOptions> {
  const options: Partial<NodeConnectionOptions> = {};
  if (security.credentialsFile !== undefined) {
    const text = readFile(security.credentialsFile, 'credentials file');
    const bytes = new TextEncoder().encode(text.trim());
    options.authenticator = credentialsKind(text, security.credentialsFile) === 'creds' ? credsAuthenticator(bytes) : nkeyAuthenticator(bytes);
  }
  if ((security.tlsCertFile === undefined) !== (security.tlsKeyFile === undefined)) {
    throw new TransportUsageError('a client certificate needs its key and the key its certificate: give both (--tls-cert and --tls-key)');
  }
  if (security.tlsCaFile !== undefined || security.tlsCertFile !== undefined) {
    const tls: NonNullable<NodeConnectionOptions['tls']> = {};
    if (security.tlsCaFile !== undefined) tls.ca = readFile(security.tlsCaFile, 'CA certificate');
    if (security.tlsCertFile !== undefined && security.tlsKeyFile !== undefined) {
      tls.cert = readFile(security.tlsCertFile, 'client certificate');
      tls.key = readFile(security.tlsKeyFile, 'client key');
    }
    options.tls = tls;
  }
  return options;
}
