/**
 * TLS (issue 10 item 4): a nats-server that takes TLS connections only and verifies client
 * certificates against its CA. The whole task path runs over it, and so does the CLI with its TLS
 * flags; a plaintext client and a client whose certificate comes from another CA are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { makeDevCertificates, startServer, type DevCertificates, type NatsServer } from '@jetsched/testkit';
import { startStack, type Stack } from './helpers/stack.js';

const BIN = new URL('../packages/cli/dist/bin.js', import.meta.url).pathname;

describe('TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jetsched-tls-'));
  let certs: DevCertificates;
  let other: DevCertificates;
  let server: NatsServer;
  let stack: Stack;

  beforeAll(async () => {
    certs = await makeDevCertificates(dir);
    other = await makeDevCertificates(mkdtempSync(join(dir, 'other-')), 'another');
    server = await startServer({
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caFile },
    });
    stack = await startStack({
      server,
      tls: { caFile: certs.caFile, certFile: certs.clientCert, keyFile: certs.clientKey },
      executors: [{ handlers: { double: (x) => (x as number) * 2 } }],
    });
  });
  afterAll(async () => {
    await stack?.close();
    await server?.stop({ clean: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the whole task path over TLS', async () => {
    const { id } = await stack.client.submit({ type: 'double', payload: 21 });
    expect(await stack.client.result(id, { timeoutMs: 20_000 })).toEqual([42]);
  });

  it('the CLI takes the TLS flags', async () => {
    const { id } = await stack.client.submit({ type: 'double', payload: 2 });
    await stack.client.wait(id, { timeoutMs: 20_000 });
    const { stdout } = await promisify(execFile)(process.execPath, [
      BIN,
      'status',
      id,
      '--json',
      '--server',
      `tls://127.0.0.1:${server.port}`,
      '--prefix',
      stack.prefix,
      '--tls-ca',
      certs.caFile,
      '--tls-cert',
      certs.clientCert,
      '--tls-key',
      certs.clientKey,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ task: { id, state: 'succeeded' } });
  });

  it('refuses a plaintext client', async () => {
    await expect(
      connect({ servers: server.url, tls: null, reconnect: false, timeout: 3_000 }),
    ).rejects.toThrow();
  });

  /** A connection attempt that gives up at once, rather than trying again for ever. */
  const attempt = (tls: Record<string, string>): Promise<unknown> =>
    connect({ servers: server.url, tls, reconnect: false, timeout: 3_000 });

  it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
    await expect(attempt({ caFile: certs.caFile })).rejects.toThrow();
    await expect(
      attempt({ caFile: certs.caFile, certFile: other.clientCert, keyFile: other.clientKey }),
    ).rejects.toThrow();
    // the same client with its own certificate gets in
    const nc = (await attempt({
      caFile: certs.caFile,
      certFile: certs.clientCert,
      keyFile: certs.clientKey,
    })) as { close(): Promise<void> };
    await nc.close();
  });

  it("refuses a server whose certificate the client's CA did not sign", async () => {
    await expect(
      attempt({ caFile: other.caFile, certFile: certs.clientCert, keyFile: certs.clientKey }),
    ).rejects.toThrow();
  });
});
