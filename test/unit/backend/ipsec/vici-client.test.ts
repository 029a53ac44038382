import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ViciClient } from '../../../../src/backend/ipsec/vici-client.js';
import { ViciError } from '../../../../src/backend/ipsec/vici-errors.js';
import { decodeViciPacket, encodeViciPacket, ViciPacketType } from '../../../../src/backend/ipsec/vici-protocol.js';
import { ViciStandIn } from './vici-standin.js';

const vici = (code: string) => (e: unknown) => e instanceof ViciError && e.code === code;

describe('VICI client against a stand-in socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vici-'));
  const standIn = new ViciStandIn(join(dir, 'charon.vici'));
  const client = new ViciClient(standIn.path, 2000);
  before(() => standIn.start());
  after(async () => {
    await standIn.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('load-shared sends exactly the documented bytes', async () => {
    standIn.received.length = 0;
    await client.loadShared('flannel-10.0.0.2', 'p', ['10.0.0.2']);
    const expected = encodeViciPacket(ViciPacketType.CMD_REQUEST, 'load-shared', { id: 'flannel-10.0.0.2', type: 'IKE', data: 'p', owners: ['10.0.0.2'] });
    assert.equal(standIn.received.length, 1);
    assert.equal(standIn.received[0]?.toString('hex'), expected.subarray(4).toString('hex'));
    // Spot-check the raw layout independently of the encoder: type, name, first element.
    const body = standIn.received[0] as Buffer;
    assert.equal(body[0], 0);
    assert.equal(body.toString('latin1', 2, 2 + (body[1] as number)), 'load-shared');
    assert.deepEqual([...body.subarray(13, 18)], [3, 2, 0x69, 0x64, 0]);
  });

  it('load-conn carries the connection and child SA as charon expects', async () => {
    standIn.received.length = 0;
    await client.loadConn('flannel-a-b', {
      localAddrs: ['10.0.0.1'],
      remoteAddrs: ['10.0.0.2'],
      proposals: ['aes256-sha256-modp4096'],
      encap: true,
      child: { name: 'flannel-a-b-child', localTs: ['10.5.1.0/24'], remoteTs: ['10.5.2.0/24'], espProposals: ['aes128gcm16-sha256-prfsha256-ecp256'], startAction: 'trap', installPolicy: true },
    });
    const p = decodeViciPacket(standIn.received[0] as Buffer);
    assert.equal(p.name, 'load-conn');
    const conn = p.message?.['flannel-a-b'] as Record<string, unknown>;
    assert.deepEqual(conn['local_addrs'], ['10.0.0.1']);
    assert.deepEqual(conn['remote_addrs'], ['10.0.0.2']);
    assert.equal(conn['encap'], 'yes');
    assert.equal(conn['version'], '2');
    assert.deepEqual(conn['local'], { auth: 'psk' });
    const child = (conn['children'] as Record<string, Record<string, unknown>>)['flannel-a-b-child'];
    assert.deepEqual(child?.['local_ts'], ['10.5.1.0/24']);
    assert.deepEqual(child?.['remote_ts'], ['10.5.2.0/24']);
    assert.deepEqual(child?.['esp_proposals'], ['aes128gcm16-sha256-prfsha256-ecp256']);
    assert.equal(child?.['start_action'], 'trap');
    assert.equal(child?.['policies'], 'yes');
  });

  it("a refused command throws ERR_VICI_COMMAND with charon's errmsg", async () => {
    standIn.reply = (_p, sock) => sock.write(encodeViciPacket(ViciPacketType.CMD_RESPONSE, undefined, { success: 'no', errmsg: "no connection named 'x'" }));
    await assert.rejects(client.unloadConn('x'), (e: unknown) => vici('ERR_VICI_COMMAND')(e) && (e as Error).message.includes("no connection named 'x'"));
  });

  it('an unknown command throws ERR_VICI_UNKNOWN_COMMAND', async () => {
    standIn.reply = (_p, sock) => sock.write(encodeViciPacket(ViciPacketType.CMD_UNKNOWN));
    await assert.rejects(client.command('no-such', {}), vici('ERR_VICI_UNKNOWN_COMMAND'));
  });

  it('list-sas registers for list-sa, gathers the events (split across writes), and ends at the response', async () => {
    standIn.received.length = 0;
    standIn.reply = (p, sock) => {
      if (p.type === ViciPacketType.EVENT_REGISTER) {
        sock.write(encodeViciPacket(ViciPacketType.EVENT_CONFIRM));
        return;
      }
      const all = Buffer.concat([
        encodeViciPacket(ViciPacketType.EVENT, 'list-sa', { 'flannel-a-b': { state: 'ESTABLISHED' } }),
        encodeViciPacket(ViciPacketType.EVENT, 'log', { msg: 'ignored' }),
        encodeViciPacket(ViciPacketType.EVENT, 'list-sa', { 'flannel-a-c': { state: 'CONNECTING' } }),
        encodeViciPacket(ViciPacketType.CMD_RESPONSE, undefined, {}),
      ]);
      sock.write(all.subarray(0, 7));
      setImmediate(() => sock.write(all.subarray(7)));
    };
    const sas = await client.listSas();
    assert.deepEqual(sas, [{ 'flannel-a-b': { state: 'ESTABLISHED' } }, { 'flannel-a-c': { state: 'CONNECTING' } }]);
    assert.deepEqual(standIn.received.map((b) => b.toString('hex')), [
      encodeViciPacket(ViciPacketType.EVENT_REGISTER, 'list-sa').subarray(4).toString('hex'),
      encodeViciPacket(ViciPacketType.CMD_REQUEST, 'list-sas', {}).subarray(4).toString('hex'),
    ]);
  });

  it('a closed connection, a silent daemon, a missing socket and an abort each reject', async () => {
    standIn.reply = (_p, sock) => sock.end();
    await assert.rejects(client.version(), vici('ERR_VICI_SOCKET'));
    standIn.reply = () => undefined;
    await assert.rejects(new ViciClient(standIn.path, 50).version(), vici('ERR_VICI_SOCKET'));
    await assert.rejects(new ViciClient(join(dir, 'absent.vici'), 500).version(), vici('ERR_VICI_SOCKET'));
    const ac = new AbortController();
    const pending = client.version(ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
  });
});
