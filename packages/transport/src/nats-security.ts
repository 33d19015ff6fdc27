// Credentials and TLS for a NATS connection, from the files a cluster operator hands out: a NATS
// credentials file (user JWT + seed, as `nsc` writes) or a bare nkey seed (as infra/nats/secure's
// gen-nkeys.mjs writes), a CA certificate to trust, and optionally a client certificate and key.
import { readFileSync } from 'node:fs';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { TransportUsageError } from './errors.js';
import { credentialsAuthenticator } from './nats-credentials.js';

export { credentialsKind } from './nats-credentials.js';

export interface NatsSecurity {
  /** Path of a .creds file (JWT + nkey seed) or of a file holding one nkey user seed (SU…). */
  readonly credentialsFile?: string;
  /** Path of the CA certificate (PEM) that signed the server's certificate; turns TLS on. */
  readonly tlsCaFile?: string;
  /** Client certificate and key (PEM) for servers that verify clients (mutual TLS). */
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
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
    options.authenticator = credentialsAuthenticator(readFile(security.credentialsFile, 'credentials file'), security.credentialsFile);
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
