/** The extension backend's command strings: Go's strings.Fields, os.Expand and TrimSpace. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commandArgv, expandVars, splitFields, trimSpace } from '../../../../src/backend/extension/command-line.js';

describe('extension command lines', () => {
  test('fields split at any run of Go white space, none for a blank string', () => {
    assert.deepEqual(splitFields('  ip route\treplace \n $SUBNET  '), ['ip', 'route', 'replace', '$SUBNET']);
    assert.deepEqual(splitFields('a\u0085b\u00a0c\u3000d'), ['a', 'b', 'c', 'd']);
    // U+FEFF is white space to JavaScript's \s but not to Go.
    assert.deepEqual(splitFields('a\ufeffb'), ['a\ufeffb']);
    assert.deepEqual(splitFields(' \t\n'), []);
    assert.deepEqual(splitFields(''), []);
  });

  test('quotes are not shell quotes: they stay in the field', () => {
    assert.deepEqual(splitFields('ip route add "$SUBNET" via "$PUBLIC_IP"'), ['ip', 'route', 'add', '"$SUBNET"', 'via', '"$PUBLIC_IP"']);
  });

  test('$NAME and ${NAME} expand as os.Expand does', () => {
    const env: Record<string, string> = { SUBNET: '10.5.3.0/24', A: 'x', A_B: 'y', '1': 'one', '?': 'q' };
    const look = (n: string) => env[n];
    assert.equal(expandVars('$SUBNET', look), '10.5.3.0/24');
    assert.equal(expandVars('${SUBNET}', look), '10.5.3.0/24');
    assert.equal(expandVars('pre-${A}-post', look), 'pre-x-post');
    assert.equal(expandVars('$A_B.c', look), 'y.c');
    assert.equal(expandVars('$A-$UNSET-', look), 'x--');
    assert.equal(expandVars('$1$?', look), 'oneq');
    assert.equal(expandVars('${?}', look), 'q');
    assert.equal(expandVars('cost$', look), 'cost$');
    assert.equal(expandVars('$%', look), '$%');
    assert.equal(expandVars('a${}b', look), 'ab');
    assert.equal(expandVars('a${A', look), 'aA');
    assert.equal(expandVars('$$', look), '');
    assert.equal(expandVars('no vars', look), 'no vars');
  });

  test('a value with spaces or shell syntax stays one literal argument', () => {
    assert.deepEqual(commandArgv('echo $V end', { V: 'a b; rm -rf /' }), ['echo', 'a b; rm -rf /', 'end']);
  });

  test('trimming follows Go white space', () => {
    assert.equal(trimSpace('\n\t out put \u0085\n'), 'out put');
    assert.equal(trimSpace('\ufeffx'), '\ufeffx');
  });
});
