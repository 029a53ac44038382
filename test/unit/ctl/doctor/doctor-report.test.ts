import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { doctorCommand } from '../../../../src/ctl/doctor/doctor-command.js';
import { renderDoctorJSON, renderDoctorTable } from '../../../../src/ctl/doctor/doctor-report.js';
import { parseProcNetUdp } from '../../../../src/ctl/doctor/proc-net-udp.js';
import { ok, problem, warning } from '../../../../src/ctl/doctor/finding.js';
import { UsageError } from '../../../../src/errors.js';
import type { CtlContext } from '../../../../src/ctl/ctl-context.js';
import { parseCtlOptions } from '../../../../src/ctl/ctl-options.js';

const UDP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  812: 00000000:2118 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 50123 2 0000000000000000 0
 1093: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 18213 2 0000000000000000 0
`;
const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  812: 00000000000000000000000000000000:CA6C 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 50124 2 0000000000000000 0
  900: 0000000000000000FFFF00000B4DA8C0:1F90 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0
`;

describe('doctor report and input', () => {
  it('reads /proc/net/udp and /proc/net/udp6', () => {
    assert.deepEqual(parseProcNetUdp(UDP, 4).map((s) => `${s.ip.toString()}:${s.port}`), ['0.0.0.0:8472', '127.0.0.1:53']);
    assert.deepEqual(parseProcNetUdp(UDP6, 6).map((s) => `${s.ip.toString()}:${s.port}`), [':::51820', '::ffff:192.168.77.11:8080']);
  });

  it('renders a table with why and fix under each problem, and a verdict', () => {
    const text = renderDoctorTable([ok('store', 'fine'), problem('device', 'flannel.1 MTU 1400', 'black hole', 'ip link set flannel.1 mtu 1450'), warning('peers', 'stray route', 'w', 'f')]);
    assert.match(text, /^RESULT {2}CHECK {3}FINDING$/m);
    assert.match(text, /^FAIL {4}device {2}flannel\.1 MTU 1400$/m);
    assert.match(text, /^ {18}why: black hole$/m);
    assert.match(text, /^ {18}fix: ip link set flannel\.1 mtu 1450$/m);
    assert.match(text, /^1 problem\(s\) found: 1 failed, 1 warnings, 1 ok$/m);
    assert.match(renderDoctorTable([ok('store', 'fine')]), /^healthy: 0 failed, 0 warnings, 1 ok$/m);
  });

  it('renders JSON for scripts', () => {
    const doc = JSON.parse(renderDoctorJSON([ok('store', 'fine'), warning('peers', 'w', 'y', 'z')])) as Record<string, unknown>;
    assert.deepEqual(doc, {
      healthy: true,
      summary: { errors: 0, warnings: 1, ok: 1 },
      findings: [
        { check: 'store', severity: 'ok', what: 'fine' },
        { check: 'peers', severity: 'warning', what: 'w', why: 'y', fix: 'z' },
      ],
    });
  });

  const ctx = (out: string[]): CtlContext => ({
    options: parseCtlOptions([], {}),
    env: {},
    stdout: (t) => out.push(t),
    stderr: (t) => out.push(t),
    readStdin: () => Promise.reject(new Error('none')),
    store: () => Promise.reject(new Error('no store in this test')),
    now: () => 0,
  });

  it('bad input: an unexpected argument exits 2, a bad -public-ip or -cni-bridge is a usage error naming the flag', async () => {
    const out: string[] = [];
    assert.equal(await doctorCommand(ctx(out), ['extra'], AbortSignal.timeout(1000)), 2);
    assert.match(out.join(''), /unexpected argument "extra"/);
    await assert.rejects(doctorCommand(ctx([]), ['-public-ip', '10.0.0'], AbortSignal.timeout(1000)), (e: unknown) => e instanceof UsageError && /-public-ip/.test(e.message));
    await assert.rejects(doctorCommand(ctx([]), ['-public-ip', 'fd00::1'], AbortSignal.timeout(1000)), (e: unknown) => e instanceof UsageError && /not an IPv4 address/.test(e.message));
    await assert.rejects(doctorCommand(ctx([]), ['-cni-bridge', 'a/b'], AbortSignal.timeout(1000)), (e: unknown) => e instanceof UsageError && /-cni-bridge/.test(e.message));
  });

  it('-h prints the usage and exits 0', async () => {
    const out: string[] = [];
    assert.equal(await doctorCommand(ctx(out), ['-h'], AbortSignal.timeout(1000)), 0);
    assert.match(out.join(''), /Usage: flannelctl doctor/);
    assert.match(out.join(''), /-public-ip/);
  });
});
