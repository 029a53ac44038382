import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DEFAULT_KEY_FILE,
  generatePrivateKey,
  keyFilePath,
  loadOrCreateKey,
  parseWireguardKey,
  publicKeyOf,
} from '../../../../src/backend/wireguard/wireguard-key.js';
import { WireguardKeyError } from '../../../../src/backend/wireguard/wireguard-errors.js';

async function rejectsKeyError(p: Promise<unknown>, file: string): Promise<WireguardKeyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WireguardKeyError, `expected WireguardKeyError, got ${String(err)}`);
  assert.equal(err.code, 'ERR_WIREGUARD_KEY');
  assert.equal(err.file, file);
  assert.ok(err.message.includes(file), err.message);
  return err;
}

describe('wireguard keys', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wgkey-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('derives the public key as X25519 does (RFC 7748 section 6.1)', () => {
    const alice = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
    assert.equal(publicKeyOf(alice).toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  });

  it('generates clamped keys', () => {
    const k = generatePrivateKey();
    assert.equal(k.length, 32);
    assert.equal((k[0] as number) & 7, 0);
    assert.equal((k[31] as number) & 0xc0, 0x40);
  });

  it('parses the base64 text form only', () => {
    const k = Buffer.alloc(32, 0xab);
    assert.deepEqual(parseWireguardKey(k.toString('base64')), k);
    assert.deepEqual(parseWireguardKey(`${k.toString('base64')}\n`), k);
    assert.equal(parseWireguardKey(k.toString('hex')), undefined);
    assert.equal(parseWireguardKey(Buffer.alloc(31).toString('base64')), undefined);
    assert.equal(parseWireguardKey(''), undefined);
  });

  it('takes the file from WIREGUARD_KEY_FILE, else /run/flannel/wgkey', () => {
    assert.equal(keyFilePath({}), DEFAULT_KEY_FILE);
    assert.equal(DEFAULT_KEY_FILE, '/run/flannel/wgkey');
    assert.equal(keyFilePath({ WIREGUARD_KEY_FILE: '/etc/wg/key' }), '/etc/wg/key');
  });

  it('generates the key once, mode 0400, and reuses it', async () => {
    const file = join(dir, 'sub', 'wgkey');
    const first = await loadOrCreateKey(file);
    assert.equal(first.created, true);
    assert.equal((await stat(file)).mode & 0o777, 0o400);
    const text = await readFile(file, 'utf8');
    assert.equal(text, first.privateKey.toString('base64'));
    assert.deepEqual(first.publicKey, publicKeyOf(first.privateKey));
    const second = await loadOrCreateKey(file);
    assert.equal(second.created, false);
    assert.deepEqual(second.privateKey, first.privateKey);
    assert.deepEqual(second.publicKey, first.publicKey);
  });

  it('reads a key written by wg genkey (trailing newline) and narrows loose permissions', async () => {
    const file = join(dir, 'loose');
    const k = generatePrivateKey();
    await writeFile(file, `${k.toString('base64')}\n`, { mode: 0o644 });
    const notes: string[] = [];
    const got = await loadOrCreateKey(file, (m) => notes.push(m));
    assert.deepEqual(got.privateKey, k);
    assert.equal((await stat(file)).mode & 0o777, 0o400);
    assert.equal(notes.length, 1);
    assert.ok(!notes[0]?.includes(k.toString('base64')), 'the note does not carry the key');
  });

  it('rejects a malformed key file, naming the file and not its content', async () => {
    const file = join(dir, 'bad');
    await writeFile(file, 'not-a-key-at-all', { mode: 0o600 });
    const err = await rejectsKeyError(loadOrCreateKey(file), file);
    assert.ok(!err.message.includes('not-a-key-at-all'), err.message);
  });

  it('rejects a key file that is a directory', async () => {
    const file = join(dir, 'adir');
    await mkdir(file);
    await rejectsKeyError(loadOrCreateKey(file), file);
  });

  it('rejects a key file that cannot be written', async () => {
    const blocker = join(dir, 'blocker');
    await writeFile(blocker, 'x');
    const file = join(blocker, 'wgkey');
    await rejectsKeyError(loadOrCreateKey(file), file);
  });
});
