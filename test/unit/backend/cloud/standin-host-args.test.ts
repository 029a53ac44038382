import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadStandinFactory, parseStandinHostArgs, StandinArgsError } from '../../../cloud/standin-host.js';

describe('standin-host arguments', () => {
  it('parses module, listen address, control socket and options', () => {
    const a = parseStandinHostArgs(['--module', 'ec2-standin', '--listen', '192.168.77.14:8080', '--control', '/tmp/x.sock', '--opt', 'region=eu-west-1', '--opt', 'k=a=b']);
    assert.deepEqual(a, { module: 'ec2-standin', host: '192.168.77.14', port: 8080, control: '/tmp/x.sock', options: { region: 'eu-west-1', k: 'a=b' } });
  });
  for (const argv of [
    ['--listen', '1.2.3.4:1', '--control', '/s'],
    ['--module', '../evil', '--listen', '1.2.3.4:1', '--control', '/s'],
    ['--module', 'm', '--listen', '1.2.3.4', '--control', '/s'],
    ['--module', 'm', '--listen', '1.2.3.4:70000', '--control', '/s'],
    ['--module', 'm', '--listen', '1.2.3.4:1', '--control', 'relative.sock'],
    ['--module', 'm', '--listen', '1.2.3.4:1', '--control', '/s', '--opt', 'novalue'],
    ['--module', 'm', '--listen', '1.2.3.4:1', '--control', '/s', '--bogus', 'x'],
    ['--module'],
  ]) {
    it(`rejects ${argv.join(' ')}`, () => assert.throws(() => parseStandinHostArgs(argv), StandinArgsError));
  }
  it('loads a stand-in module’s factory', async () => {
    assert.equal(typeof (await loadStandinFactory('ec2-standin')), 'function');
    await assert.rejects(loadStandinFactory('standin-app'), StandinArgsError);
  });
});
