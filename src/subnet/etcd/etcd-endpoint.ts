/**
 * Parsing of etcd client endpoints and loading of the TLS files, both done once when the
 * client is built.
 *
 * Accepted forms: http://host:port, https://host:port, unix:///abs/path, unix://name:port
 * (etcd 3.4 only accepts this form for --listen-client-urls and creates the socket file
 * "name:port" in its working directory; here it is resolved against our working directory,
 * as etcdctl does), unix:relative/path, and unixs:// for TLS over a unix socket.
 */
import { UsageError, errorMessage } from '../../errors.js';

export interface EtcdEndpoint {
  /** The endpoint as configured; errors name it. */
  readonly url: string;
  readonly tls: boolean;
  /** Host for TCP endpoints, "localhost" (Host header and TLS name) for unix sockets. */
  readonly host: string;
  readonly port: number | undefined;
  readonly socketPath: string | undefined;
}

export function parseEndpoint(url: string): EtcdEndpoint {
  const m = /^([a-z]+):(.*)$/.exec(url);
  const scheme = m?.[1];
  const rest = m?.[2] ?? '';
  if (scheme === 'unix' || scheme === 'unixs') {
    const path = rest.startsWith('//') ? rest.slice(2) : rest;
    if (path === '') throw new UsageError('etcd-endpoints', `etcd endpoint ${JSON.stringify(url)}: no socket path`);
    return { url, tls: scheme === 'unixs', host: 'localhost', port: undefined, socketPath: path };
  }
  if (scheme !== 'http' && scheme !== 'https') {
    throw new UsageError('etcd-endpoints', `etcd endpoint ${JSON.stringify(url)}: scheme must be http, https, unix or unixs`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new UsageError('etcd-endpoints', `etcd endpoint ${JSON.stringify(url)}: ${errorMessage(err)}`, { cause: err });
  }
  if (parsed.pathname !== '/' && parsed.pathname !== '') {
    throw new UsageError('etcd-endpoints', `etcd endpoint ${JSON.stringify(url)}: must not have a path`);
  }
  const tls = scheme === 'https';
  const port = parsed.port === '' ? (tls ? 443 : 80) : Number(parsed.port);
  // URL keeps the brackets of an IPv6 literal; node:http wants the bare address.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return { url, tls, host, port, socketPath: undefined };
}

export interface TlsMaterial {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

function readTlsFile(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined || path === '') return undefined;
  try {
    // Not an ES import of node:fs: its namespace getters load ~30 modules more (2.5 MiB on Node 24).
    return process.getBuiltinModule('node:fs').readFileSync(path);
  } catch (err) {
    throw new UsageError(flag, `cannot read -${flag} ${JSON.stringify(path)}: ${errorMessage(err)}`, { cause: err });
  }
}

export function loadTls(opts: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined }): TlsMaterial {
  const tls = {
    ca: readTlsFile('etcd-cafile', opts.caFile),
    cert: readTlsFile('etcd-certfile', opts.certFile),
    key: readTlsFile('etcd-keyfile', opts.keyFile),
  };
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    const flag = tls.cert === undefined ? 'etcd-certfile' : 'etcd-keyfile';
    throw new UsageError(flag, '-etcd-certfile and -etcd-keyfile must be given together');
  }
  return tls;
}
