/**
 * A development CA and the certificates a TLS test needs, made with the machine's `openssl`: a CA,
 * a server certificate for 127.0.0.1 and localhost, and a client certificate (for servers that
 * verify clients). Not for production: the keys are written unencrypted.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DevCertificates {
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** Makes a CA named `name` and its server and client certificates in `dir`. */
export async function makeDevCertificates(dir: string, name = 'jetsched dev'): Promise<DevCertificates> {
  const f = (n: string): string => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '825',
    '-subj',
    `/CN=${name} CA`,
  ]);
  const issue = async (who: 'server' | 'client', ext: string): Promise<void> => {
    await writeFile(f(`${who}.ext`), ext);
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      f(`${who}-key.pem`),
      '-out',
      f(`${who}.csr`),
      '-subj',
      `/CN=${name} ${who}`,
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      f(`${who}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${who}.pem`),
      '-days',
      '825',
      '-extfile',
      f(`${who}.ext`),
    ]);
  };
  await issue('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await issue('client', 'extendedKeyUsage=clientAuth\n');
  return {
    caFile: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server-key.pem'),
    clientCert: f('client.pem'),
    clientKey: f('client-key.pem'),
  };
}
