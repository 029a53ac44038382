/**
 * The extension backend with small shell scripts as its commands: what each command gets
 * (argv, environment, standard input), what becomes the lease, what is logged, and failures.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BackendContext } from '../../../../src/backend/backend.js';
import { ExtensionBackend } from '../../../../src/backend/extension/extension-backend.js';
import { ExtensionCommandError, runExtensionCommand } from '../../../../src/backend/extension/extension-command.js';
import { validateNetworkConfig } from '../../../../src/config/network-config.js';
import { ConfigError } from '../../../../src/errors.js';
import { IPAddress } from '../../../../src/ip/ip-address.js';
import { IPNetwork } from '../../../../src/ip/ip-network.js';
import { encodeLeaseAttrs, type Lease, type LeaseAttrs, type LeaseEvent } from '../../../../src/lease/lease.js';
import { createLogger } from '../../../../src/log/logger.js';

let dir: string;

/** Writes an executable sh script; returns its path. */
async function script(name: string, body: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, `#!/bin/sh\n${body}\n`);
  await chmod(p, 0o755);
  return p;
}

/** A script that records its argv, the flannel variables and its stdin into <dir>/<name>.out. */
async function recorder(name: string, extra = ''): Promise<string> {
  const out = join(dir, `${name}.out`);
  return script(
    name,
    `{ printf 'argv:'; for a in "$@"; do printf ' [%s]' "$a"; done; echo
for v in NETWORK SUBNET IPV6SUBNET PUBLIC_IP PUBLIC_IPV6; do eval "printf '%s=%s|' $v \\"\\\${$v-(unset)}\\""; done; echo
printf 'stdin:'; od -An -c | tr -s ' '; } >> ${out}
${extra}`,
  );
}

const readOut = (name: string) => readFile(join(dir, `${name}.out`), 'utf8');

function makeLease(subnet: string, pub: string, data: unknown, type = 'extension'): Lease {
  return {
    subnet: IPNetwork.parse(subnet),
    ipv6Subnet: undefined,
    expiration: undefined,
    attrs: { publicIP: IPAddress.parse(pub), publicIPv6: undefined, backendType: type, backendData: data, backendV6Data: undefined },
  };
}

function context(backend: Record<string, unknown>, lines: string[]): BackendContext & { acquired: LeaseAttrs[] } {
  const acquired: LeaseAttrs[] = [];
  return {
    acquired,
    config: validateNetworkConfig({ Network: '10.5.0.0/16', Backend: { Type: 'extension', ...backend } }, { knownBackends: ['extension'] }),
    extIface: {
      name: 'eth0',
      mtu: 1500,
      ifaceAddr: IPAddress.parse('192.168.77.11'),
      ifaceV6Addr: undefined,
      extAddr: IPAddress.parse('203.0.113.11'),
      extV6Addr: undefined,
    },
    logger: createLogger({ sink: { write: (l) => lines.push(l) }, component: 'extension' }),
    acquireLease: async (attrs) => {
      acquired.push(attrs);
      return { subnet: IPNetwork.parse('10.5.7.0/24'), ipv6Subnet: undefined, attrs, expiration: undefined };
    },
    kernel: () => {
      throw new Error('the extension backend must not touch the kernel');
    },
    resyncMs: 30_000,
  };
}

async function* batches(...bs: LeaseEvent[][]): AsyncIterable<readonly LeaseEvent[]> {
  for (const b of bs) yield b;
}

describe('extension backend', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ext-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("PreStartupCommand's output is the lease's BackendData; PostStartupCommand gets flannel's environment", async () => {
    const pre = await script('pre', 'echo "  5a:9b:6c:cc:33:80 "; echo warn >&2');
    const post = await recorder('post');
    const lines: string[] = [];
    const ctx = context({ PreStartupCommand: `${pre} ignored-arg`, PostStartupCommand: `${post} $SUBNET \${PUBLIC_IP}x $NETWORK` }, lines);
    const net = await new ExtensionBackend().registerNetwork(ctx, AbortSignal.timeout(10_000));
    assert.equal(ctx.acquired.length, 1);
    // Output of both streams, white space trimmed; the interface address, not -public-ip.
    assert.equal(ctx.acquired[0]?.backendData, '5a:9b:6c:cc:33:80 \nwarn');
    assert.equal(
      encodeLeaseAttrs(net.lease.attrs),
      '{"PublicIP":"192.168.77.11","PublicIPv6":null,"BackendType":"extension","BackendData":"5a:9b:6c:cc:33:80 \\nwarn"}',
    );
    assert.equal(net.mtu, 1500);
    const out = await readOut('post');
    assert.match(out, /^argv: \[10\.5\.7\.0\/24\] \[192\.168\.77\.11x\] \[10\.5\.0\.0\/16\]$/m);
    assert.match(out, /NETWORK=10\.5\.0\.0\/16\|SUBNET=10\.5\.7\.0\/24\|IPV6SUBNET=::\/0\|PUBLIC_IP=192\.168\.77\.11\|PUBLIC_IPV6=<nil>\|/);
    assert.match(out, /^stdin: \\n$/m);
    assert.ok(lines.some((l) => l.includes('ran PreStartupCommand') && l.includes('"5a:9b:6c:cc:33:80 \\nwarn"')), lines.join(''));
    assert.ok(lines.some((l) => l.includes('ran PostStartupCommand')));
  });

  test('without PreStartupCommand the lease has no BackendData', async () => {
    const ctx = context({}, []);
    const net = await new ExtensionBackend().registerNetwork(ctx, AbortSignal.timeout(5000));
    assert.equal(encodeLeaseAttrs(net.lease.attrs), '{"PublicIP":"192.168.77.11","PublicIPv6":null,"BackendType":"extension"}');
  });

  test('a failing PreStartupCommand is an error naming it, and no lease is taken', async () => {
    const pre = await script('pre-fail', 'echo "no vxlan here"; exit 3');
    const ctx = context({ PreStartupCommand: pre }, []);
    await assert.rejects(new ExtensionBackend().registerNetwork(ctx, AbortSignal.timeout(5000)), (err: unknown) => {
      assert.ok(err instanceof ExtensionCommandError);
      assert.equal(err.code, 'ERR_EXTENSION_COMMAND');
      assert.equal(err.field, 'PreStartupCommand');
      assert.equal(err.exitCode, 3);
      assert.match(err.message, /^PreStartupCommand ".*pre-fail" failed: exit status 3; output: "no vxlan here"$/);
      return true;
    });
    assert.equal(ctx.acquired.length, 0);
  });

  test('a failing PostStartupCommand is an error naming it', async () => {
    const ctx = context({ PostStartupCommand: 'false' }, []);
    await assert.rejects(new ExtensionBackend().registerNetwork(ctx, AbortSignal.timeout(5000)), /PostStartupCommand "false" failed: exit status 1/);
  });

  test('bad options are errors naming the field and value', async () => {
    for (const [backend, re] of [
      [{ SubnetAddCommand: 42 }, /Backend\.SubnetAddCommand=42: must be a string/],
      [{ PreStartupCommand: ' \t ' }, /Backend\.PreStartupCommand=" \\t ": names no program to run/],
    ] as const) {
      const ctx = context(backend, []);
      await assert.rejects(new ExtensionBackend().registerNetwork(ctx, AbortSignal.timeout(5000)), (err: unknown) => err instanceof ConfigError && re.test(err.message));
      assert.equal(ctx.acquired.length, 0);
    }
  });

  test('SubnetAdd/RemoveCommand run per peer, in order, with SUBNET, PUBLIC_IP and the backend data on stdin', async () => {
    const add = await recorder('add');
    const del = await recorder('del');
    const lines: string[] = [];
    const ctx = context({ SubnetAddCommand: `${add} route replace $SUBNET via $PUBLIC_IP`, SubnetRemoveCommand: `${del} \${SUBNET}` }, lines);
    const net = await new ExtensionBackend().registerNetwork(ctx, AbortSignal.timeout(10_000));
    const a = makeLease('10.5.3.0/24', '192.168.77.12', 'aa:bb');
    const b = makeLease('10.5.4.0/24', '192.168.77.13', undefined);
    const other = makeLease('10.5.5.0/24', '192.168.77.14', undefined, 'vxlan');
    const bad = makeLease('10.5.6.0/24', '192.168.77.15', { VtepMAC: 'x' });
    await net.run(
      batches(
        [
          { type: 'added', lease: a },
          { type: 'added', lease: b },
          { type: 'added', lease: other },
          { type: 'added', lease: bad },
        ],
        [{ type: 'removed', lease: a }],
      ),
      AbortSignal.timeout(10_000),
    );
    const added = (await readOut('add')).trim().split('\n');
    assert.deepEqual(added, [
      'argv: [route] [replace] [10.5.3.0/24] [via] [192.168.77.12]',
      'NETWORK=(unset)|SUBNET=10.5.3.0/24|IPV6SUBNET=(unset)|PUBLIC_IP=192.168.77.12|PUBLIC_IPV6=(unset)|',
      'stdin: a a : b b \\n',
      'argv: [route] [replace] [10.5.4.0/24] [via] [192.168.77.13]',
      'NETWORK=(unset)|SUBNET=10.5.4.0/24|IPV6SUBNET=(unset)|PUBLIC_IP=192.168.77.13|PUBLIC_IPV6=(unset)|',
      'stdin: \\n',
    ]);
    assert.match(await readOut('del'), /^argv: \[10\.5\.3\.0\/24\]\n.*\nstdin: a a : b b \\n\n$/);
    const log = lines.join('');
    assert.match(log, /W\d{4} .*ignoring non-extension subnet 10\.5\.5\.0\/24: type=vxlan/);
    assert.match(log, /E\d{4} .*skipping SubnetAddCommand for 10\.5\.6\.0\/24: its BackendData \{"VtepMAC":"x"\} is not a JSON string/);
    assert.equal((log.match(/ran SubnetAddCommand/g) ?? []).length, 2);
  });

  test('a failing SubnetAddCommand is logged with its output and the next event is handled', async () => {
    const add = await script('add-fail', 'echo "RTNETLINK answers: File exists" >&2; exit 2');
    const del = await recorder('del2');
    const lines: string[] = [];
    const ctx = context({ SubnetAddCommand: add, SubnetRemoveCommand: del }, lines);
    const net = await new ExtensionBackend().registerNetwork(ctx, AbortSignal.timeout(10_000));
    const a = makeLease('10.5.3.0/24', '192.168.77.12', undefined);
    await net.run(batches([{ type: 'added', lease: a }], [{ type: 'removed', lease: a }]), AbortSignal.timeout(10_000));
    assert.match(lines.join(''), /E\d{4} .*SubnetAddCommand ".*add-fail" failed: exit status 2; output: "RTNETLINK answers: File exists"/);
    assert.match(await readOut('del2'), /SUBNET=10\.5\.3\.0\/24/);
  });

  test('a program that does not exist, and one killed by a signal, are errors naming the command', async () => {
    await assert.rejects(
      runExtensionCommand({ field: 'SubnetAddCommand', command: 'no-such-program-xyz $SUBNET', env: {}, stdin: '' }),
      /SubnetAddCommand "no-such-program-xyz \$SUBNET" failed: cannot run "no-such-program-xyz" \(ENOENT\)/,
    );
    const self = await script('self-kill', 'kill -9 $$');
    await assert.rejects(runExtensionCommand({ field: 'SubnetRemoveCommand', command: self, env: {}, stdin: '' }), /failed: killed by SIGKILL/);
  });

  test('the daemon environment is inherited and expanded; a large stdin is delivered whole', async () => {
    process.env.FTS_EXT_TEST = 'from-daemon';
    try {
      const out = await runExtensionCommand({ field: 'PostStartupCommand', command: 'printf %s $FTS_EXT_TEST', env: {}, stdin: '' });
      assert.equal(out, 'from-daemon');
    } finally {
      delete process.env.FTS_EXT_TEST;
    }
    const big = 'x'.repeat(300_000);
    assert.equal(await runExtensionCommand({ field: 'SubnetAddCommand', command: 'wc -c', env: {}, stdin: big }), String(big.length + 1));
    // A program that never reads its input is no failure.
    assert.equal(await runExtensionCommand({ field: 'SubnetAddCommand', command: 'true', env: {}, stdin: big }), '');
  });

  test('aborting kills a running command', async () => {
    const ac = new AbortController();
    const p = runExtensionCommand({ field: 'SubnetAddCommand', command: 'sleep 30', env: {}, stdin: '', signal: ac.signal });
    setImmediate(() => ac.abort(new Error('stop')));
    const started = Date.now();
    await assert.rejects(p, /stop/);
    assert.ok(Date.now() - started < 5000);
  });
});
