import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UapiControl } from '../../../../src/backend/wireguard/uapi-client.js';
import { WireguardDeviceError } from '../../../../src/backend/wireguard/wireguard-errors.js';
import { publicKeyOf } from '../../../../src/backend/wireguard/wireguard-key.js';

const PRIV = Buffer.alloc(32, 0x42);

/** A stand-in wireguard-go UAPI listener: answers each request, in pieces, keeping the connection open. */
function stand(reply: (request: string) => string | undefined): { server: Server; requests: string[] } {
  const requests: string[] = [];
  const server = createServer((c: Socket) => {
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      buf += d;
      const end = buf.indexOf('\n\n');
      if (end < 0) return;
      const req = buf.slice(0, end + 2);
      buf = buf.slice(end + 2);
      requests.push(req);
      const answer = reply(req);
      if (answer === undefined) return; // never answers
      // In two writes, split inside the errno line: the client must wait for the blank line.
      const cut = Math.max(1, answer.length - 4);
      c.write(answer.slice(0, cut));
      setTimeout(() => c.write(answer.slice(cut)), 5);
    });
  });
  return { server, requests };
}

describe('UAPI client over a unix socket', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'uapi-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const listen = async (name: string, reply: (r: string) => string | undefined) => {
    const s = stand(reply);
    const path = join(dir, `${name}.sock`);
    await new Promise<void>((r) => s.server.listen(path, r));
    return { ...s, path };
  };

  it('gets the device state (public key derived), sets with set=1, reads errno=0 as success', async () => {
    const s = await listen('ok', (r) =>
      r.startsWith('get=1') ? `private_key=${PRIV.toString('hex')}\nlisten_port=51820\nerrno=0\n\n` : 'errno=0\n\n',
    );
    try {
      const ctl = new UapiControl('ok', s.path);
      const state = await ctl.get();
      assert.equal(state.listenPort, 51820);
      assert.deepEqual(state.publicKey, publicKeyOf(PRIV));
      await ctl.set({ listenPort: 51821 });
      assert.deepEqual(s.requests, ['get=1\n\n', 'set=1\nlisten_port=51821\n\n']);
      assert.equal(await ctl.alive(), true);
    } finally {
      s.server.close();
    }
  });

  it('turns a negative errno into a WireguardDeviceError naming the device', async () => {
    const s = await listen('bad', () => 'errno=-22\n\n');
    try {
      const err = await new UapiControl('bad', s.path).set({ listenPort: 1 }).catch((e: unknown) => e);
      assert.ok(err instanceof WireguardDeviceError, String(err));
      assert.equal(err.errno, 22);
      assert.equal(err.device, 'bad');
      assert.match(err.message, /set on bad: the device answered errno=-22/);
    } finally {
      s.server.close();
    }
  });

  it('fails within its bound when nothing answers, and when no one listens', async () => {
    const s = await listen('mute', () => undefined);
    try {
      await assert.rejects(new UapiControl('mute', s.path, 200).get(), /no answer within 200 ms/);
      await assert.rejects(new UapiControl('none', join(dir, 'none.sock')).get(), (e: unknown) => e instanceof WireguardDeviceError && /ENOENT/.test(e.message));
      assert.equal(await new UapiControl('none', join(dir, 'none.sock')).alive(), false);
    } finally {
      s.server.close();
    }
  });
});
