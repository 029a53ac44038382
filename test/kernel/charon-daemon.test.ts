/**
 * charon as the ipsec backend runs it: its own strongswan.conf and VICI socket, in a network
 * namespace this test creates and a private /run (for charon's fixed pid file). Loading a
 * connection with start_action=trap makes charon install the XFRM policies; unloading it
 * removes them; a killed charon is restarted and reloaded; stop() ends it. Needs root and
 * Debian's strongswan-charon; skipped with a printed reason otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHARON, CharonDaemon } from '../../src/backend/ipsec/charon-daemon.js';
import type { ViciConnection } from '../../src/backend/ipsec/vici-client.js';
import { sleep } from '../../src/async/abortable-sleep.js';
import type { Logger } from '../../src/log/logger.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(CHARON) ? `${CHARON} missing (scripts/setup.sh installs strongswan-charon)` : false;
if (skip) console.log(`# charon-daemon: skipped: ${skip}`);

const NS = `fts-charon-${process.pid}`;
const errors: string[] = [];
const logger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: (m: string) => void errors.push(m),
  v: () => ({ info: () => undefined }),
  child: () => logger,
  verbosity: 0,
};
const xfrmPolicies = (): string => execFileSync('ip', ['-n', NS, 'xfrm', 'policy'], { encoding: 'utf8' });

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const CONN: ViciConnection = {
  localAddrs: ['10.99.0.1'],
  remoteAddrs: ['10.99.0.2'],
  proposals: ['aes256-sha256-modp4096'],
  encap: false,
  child: { name: 'child', localTs: ['10.5.1.0/24'], remoteTs: ['10.5.2.0/24'], espProposals: ['aes128gcm16-sha256-prfsha256-ecp256'], startAction: 'trap', installPolicy: true },
};

describe('charon daemon', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'charon-'));
  const runDir = join(dir, 'flannel');
  const privateRun = join(dir, 'run');
  const ac = new AbortController();
  let restarts = 0;
  const daemon = new CharonDaemon({
    runDir,
    logger,
    wrap: ['ip', 'netns', 'exec', NS, 'unshare', '-m', 'sh', '-c', `mount --bind ${privateRun} /run && exec "$@"`, 'charon-wrap'],
    onRestart: async (vici, signal) => {
      restarts++;
      await vici.loadShared('psk', 'x'.repeat(96), [], signal);
      await vici.loadConn('peer', CONN, signal);
    },
  });
  before(() => {
    mkdirSync(privateRun, { recursive: true });
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['-n', NS, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
    execFileSync('ip', ['-n', NS, 'addr', 'add', '10.99.0.1/24', 'dev', 'd0']);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'd0', 'up']);
  });
  after(async () => {
    ac.abort();
    await daemon.stop();
    execFileSync('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts with its own config and answers on its own VICI socket', async () => {
    await daemon.start(ac.signal);
    const v = await daemon.vici.version();
    assert.equal(v['daemon'], 'charon');
    assert.ok(existsSync(join(privateRun, 'charon.pid')), 'pid file in the private /run');
    assert.ok(existsSync(join(runDir, 'charon.vici')));
  });

  it('a loaded trap connection puts XFRM policies for the subnets in the kernel; unloading removes them', async () => {
    await daemon.vici.loadShared('psk', 'x'.repeat(96), []);
    await daemon.vici.loadConn('peer', CONN);
    const p = xfrmPolicies();
    assert.match(p, /src 10\.5\.1\.0\/24 dst 10\.5\.2\.0\/24\s+dir out/);
    assert.match(p, /src 10\.5\.2\.0\/24 dst 10\.5\.1\.0\/24\s+dir in/);
    assert.match(p, /tmpl src 10\.99\.0\.1 dst 10\.99\.0\.2\s+proto esp/);
    await daemon.vici.unloadConn('peer');
    await until('policies removed', () => !xfrmPolicies().includes('10.5.2.0/24'));
  });

  it('a killed charon is restarted and reloaded', async () => {
    const first = daemon.pid;
    assert.ok(first);
    process.kill(first, 'SIGKILL');
    await until('restart and reload', () => restarts === 1 && xfrmPolicies().includes('10.5.2.0/24'), 15_000);
    assert.notEqual(daemon.pid, first);
    assert.match(errors.join('\n'), /charon \(pid \d+\) ended \(killed by SIGKILL\); restarting/);
  });

  it('stop() ends charon, and with it its policies', async () => {
    const pid = daemon.pid as number;
    await daemon.stop();
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await until('policies gone', () => !xfrmPolicies().includes('10.5.2.0/24'));
  });
});
