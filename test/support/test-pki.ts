/**
 * makeTestPki(): a throwaway CA with a server certificate (for 127.0.0.1 and localhost) and a
 * client certificate, made with `openssl` into a directory the caller owns and removes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './command.js';

export interface TestPki {
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

async function issue(dir: string, name: string, subject: string, ext: string, ca: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  await run(['openssl', 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
  await run(['openssl', 'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-out', cert, '-extfile', extFile]);
  return { cert, key };
}

export async function makeTestPki(dir: string): Promise<TestPki> {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  await run([
    'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', '/CN=flannel-ts test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const ca = { cert: caCert, key: caKey };
  const server = await issue(dir, 'server', '/CN=etcd-test-server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n', ca);
  const client = await issue(dir, 'client', '/CN=root', 'extendedKeyUsage=clientAuth\n', ca);
  return { caFile: caCert, serverCertFile: server.cert, serverKeyFile: server.key, clientCertFile: client.cert, clientKeyFile: client.key };
}
