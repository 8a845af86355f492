import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { connect } from 'node:tls';
import type { ClientTls } from './client-tls.js';
import type { ServerAddress } from './parse-address.js';

/** What went wrong with TLS, for callers that add their own hint (a CLI names its options). */
export type TlsProblem =
  | 'server-speaks-tls'
  | 'server-plain-text'
  | 'untrusted-certificate'
  | 'certificate-name'
  | 'certificate-dates'
  | 'client-certificate'
  | 'handshake';

export interface ConnectionDiagnosis {
  readonly problem: TlsProblem;
  /** one sentence for a person: what is wrong and what to do */
  readonly text: string;
}

/** How long the diagnosis may take; it only runs after a connection failed. */
const DIAGNOSIS_TIMEOUT_MS = 3000;

/** The client preface of HTTP/2: what a gRPC client sends first; a server that accepted us answers with SETTINGS. */
const HTTP2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

/** Certificate checks that fail because the client does not trust the CA that signed the server's certificate. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** Alerts a server sends when it wants a client certificate it trusts (mutual TLS). */
const CLIENT_CERT_REFUSED = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
]);

/**
 * Why a connection to a server that answers on its port failed, told in a way a person can act on, or undefined when
 * this cannot tell (nothing listens, the network is down: the caller's own message says so). Found by a TLS
 * handshake of its own with the same settings as the channel's:
 *
 * - a plain-text client whose server completes a TLS handshake: the server speaks TLS, use https://
 * - a TLS client to a server that answers in plain text: use http://
 * - the server's certificate is not trusted, names another host, or has expired
 * - the server refused the client's certificate, or asked for one that was not given (mutual TLS)
 *
 * `checkCertificate: false` is for a client that does not check the server's certificate either.
 */
export async function diagnoseConnection(
  address: ServerAddress,
  tls: ClientTls | undefined,
  options: { readonly checkCertificate?: boolean } = {},
): Promise<ConnectionDiagnosis | undefined> {
  const outcome = await handshake(address, tls, options.checkCertificate ?? true);
  if (tls === undefined) {
    return outcome.kind === 'connected' || outcome.kind === 'refused' || outcome.kind === 'closed'
      ? {
          problem: 'server-speaks-tls',
          text:
            `the server speaks TLS: use https://${address.target}, with a CA file if its certificate is not signed ` +
            'by a CA the system trusts',
        }
      : undefined;
  }
  if (outcome.kind === 'connected' || outcome.kind === 'timeout') return undefined;
  if (outcome.kind === 'closed') {
    // with a client certificate, the likely reason; without one, the server would have asked for it with an alert
    return tls.cert === undefined
      ? undefined
      : {
          problem: 'client-certificate',
          text:
            'the server closed the connection right after the TLS handshake, so it does not accept the client ' +
            'certificate: give one signed by a CA the server trusts',
        };
  }
  const { code, message } = outcome;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return {
      problem: 'server-plain-text',
      text: `the server does not speak TLS (it answered in plain text): use http://${address.target}`,
    };
  }
  if (UNTRUSTED.has(code)) {
    const which =
      tls.ca === undefined
        ? 'no CA file was given, so only the CAs the system trusts are'
        : 'the CA file given did not sign it';
    return {
      problem: 'untrusted-certificate',
      text: `the server's certificate is not trusted (${message}; ${which}): give the CA certificate that signed it as the CA file`,
    };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return {
      problem: 'certificate-name',
      text: `the server's certificate does not name ${address.host} (${message}): connect by a name it holds`,
    };
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return { problem: 'certificate-dates', text: `the server's certificate is not valid now (${message})` };
  }
  if (CLIENT_CERT_REFUSED.has(code)) {
    return {
      problem: 'client-certificate',
      text:
        tls.cert === undefined
          ? 'the server asks for a client certificate (mutual TLS): give a client certificate and its key'
          : `the server refused the client certificate (${alertName(message)}): give one signed by a CA the server trusts`,
    };
  }
  if (outcome.kind === 'refused') {
    return { problem: 'handshake', text: `the TLS handshake failed: ${alertName(message)}` };
  }
  return undefined;
}

type Outcome =
  | { kind: 'connected' }
  | { kind: 'timeout' }
  /** no TLS connection (or the network failed): code and message of the error */
  | { kind: 'failed'; code: string; message: string }
  /** a TLS connection was made, then the server closed it with this alert */
  | { kind: 'refused'; code: string; message: string }
  /** a TLS connection was made, then the server closed it without a word */
  | { kind: 'closed' };

/**
 * A TLS handshake (certificates checked when `tls` is given, not checked otherwise), then the HTTP/2 preface: a
 * server that accepted us answers; a server that refuses our certificate closes the connection with an alert.
 */
function handshake(address: ServerAddress, tls: ClientTls | undefined, checkCertificate: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    let socket: TLSSocket;
    let secured = false;
    const done = (outcome: Outcome): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done({ kind: 'timeout' }), DIAGNOSIS_TIMEOUT_MS);
    try {
      socket = connect({
        host: address.host,
        port: address.port,
        // a host name goes in SNI; an IP address may not (RFC 6066)
        ...(isIP(address.host) === 0 ? { servername: address.host } : {}),
        ALPNProtocols: ['h2'],
        rejectUnauthorized: tls !== undefined && checkCertificate,
        ...(tls === undefined ? {} : { ca: tls.ca, cert: tls.cert, key: tls.key }),
      });
    } catch (err) {
      clearTimeout(timer);
      resolve({ kind: 'failed', code: 'EINVAL', message: err instanceof Error ? err.message : String(err) });
      return;
    }
    socket.on('secureConnect', () => {
      secured = true;
      socket.write(HTTP2_PREFACE);
    });
    socket.on('data', () => done({ kind: 'connected' }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const outcome = { code: err.code ?? 'UNKNOWN', message: firstLine(err.message) };
      done(secured ? { kind: 'refused', ...outcome } : { kind: 'failed', ...outcome });
    });
    // a Node server that refuses a client certificate closes the connection after the handshake, without an alert
    socket.on('close', () =>
      done(
        secured
          ? { kind: 'closed' }
          : { kind: 'failed', code: 'ECONNRESET', message: 'the server closed the connection' },
      ),
    );
  });
}

/** OpenSSL's messages carry a prefix and a source location: `...:tlsv13 alert certificate required:...` → the alert. */
function alertName(message: string): string {
  const m = /:([a-z0-9 ]*alert [a-z0-9 ]+):/i.exec(message);
  return m?.[1] ?? message;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
