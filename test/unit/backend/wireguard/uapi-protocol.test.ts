import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerComplete, answerErrno, encodeSet, formatEndpoint, parseEndpoint, parseGet } from '../../../../src/backend/wireguard/uapi-protocol.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../../src/ip/ip-network.js';

const K1 = Buffer.alloc(32, 0x11);
const K2 = Buffer.alloc(32, 0x22);
const PSK = Buffer.alloc(32, 0x33);
const hex = (b: Buffer) => b.toString('hex');

describe('WireGuard UAPI text protocol', () => {
  it('encodes a device set with peers as the documented key=value lines', () => {
    const text = encodeSet({
      privateKey: K1,
      listenPort: 51820,
      replacePeers: true,
      peers: [
        {
          publicKey: K2,
          presharedKey: PSK,
          endpoint: { ip: IPAddress.parse('192.168.77.12'), port: 51820 },
          persistentKeepalive: 25,
          replaceAllowedIps: true,
          allowedIps: [IPNetwork.parse('10.5.3.0/24')],
        },
        { publicKey: K1, remove: true, endpoint: { ip: IPAddress.parse('10.0.0.1'), port: 1 } },
        { publicKey: PSK, updateOnly: true, endpoint: { ip: IPAddress.parse('fd77::12'), port: 51821 } },
      ],
    });
    assert.equal(
      text,
      [
        'set=1',
        `private_key=${hex(K1)}`,
        'listen_port=51820',
        'replace_peers=true',
        `public_key=${hex(K2)}`,
        `preshared_key=${hex(PSK)}`,
        'endpoint=192.168.77.12:51820',
        'persistent_keepalive_interval=25',
        'replace_allowed_ips=true',
        'allowed_ip=10.5.3.0/24',
        `public_key=${hex(K1)}`,
        'remove=true',
        `public_key=${hex(PSK)}`,
        'update_only=true',
        'endpoint=[fd77::12]:51821',
        '',
        '',
      ].join('\n'),
    );
  });

  it('parses a get answer as wireguard-go writes it', () => {
    const answer = [
      `private_key=${hex(K1)}`,
      'listen_port=51820',
      `public_key=${hex(K2)}`,
      `preshared_key=${'0'.repeat(64)}`,
      'protocol_version=1',
      'endpoint=[fd00::1]:51821',
      'last_handshake_time_sec=1700000000',
      'last_handshake_time_nsec=5',
      'tx_bytes=10',
      'rx_bytes=20',
      'persistent_keepalive_interval=25',
      'allowed_ip=10.9.0.0/24',
      'allowed_ip=fc00::/64',
      `public_key=${hex(PSK)}`,
      `preshared_key=${hex(K1)}`,
      'endpoint=192.168.77.13:51820',
      'persistent_keepalive_interval=0',
      'errno=0',
      '',
      '',
    ].join('\n');
    assert.ok(answerComplete(answer));
    assert.equal(answerErrno(answer), 0);
    const s = parseGet(answer);
    assert.deepEqual(s.privateKey, K1);
    assert.equal(s.listenPort, 51820);
    assert.equal(s.peers.length, 2);
    const [a, b] = s.peers;
    assert.deepEqual(a?.publicKey, K2);
    assert.equal(a?.presharedKey, undefined, 'an all-zero PSK is none');
    assert.equal(a && formatEndpoint(a.endpoint ?? { ip: IPAddress.parse('0.0.0.0'), port: 0 }), '[fd00::1]:51821');
    assert.deepEqual(a?.allowedIps.map(String), ['10.9.0.0/24', 'fc00::/64']);
    assert.equal(a?.persistentKeepalive, 25);
    assert.equal(a?.lastHandshakeSec, 1700000000);
    assert.equal(a?.rxBytes, 20n);
    assert.deepEqual(b?.presharedKey, K1);
    assert.equal(b?.persistentKeepalive, 0);
  });

  it('reads errno and completeness from the end of an answer', () => {
    assert.equal(answerErrno('errno=-22\n\n'), -22);
    assert.equal(answerComplete('listen_port=1\nerrno=0\n'), false);
    assert.equal(answerComplete('errno=0\n\n'), true);
    assert.ok(Number.isNaN(answerErrno('listen_port=1\n')));
  });

  it('parses and formats endpoints of both families', () => {
    assert.deepEqual(parseEndpoint('1.2.3.4:5'), { ip: IPAddress.parse('1.2.3.4'), port: 5 });
    assert.deepEqual(parseEndpoint('[fe80::1%eth0]:7'), { ip: IPAddress.parse('fe80::1'), port: 7 });
    assert.equal(parseEndpoint('nonsense'), undefined);
    assert.equal(parseEndpoint('1.2.3.4:70000'), undefined);
  });
});
