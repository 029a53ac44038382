import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage } from '../../errors.js';
import { WireguardKeyError } from './wireguard-errors.js';

/** flannel's key file, unless WIREGUARD_KEY_FILE names another. */
export const DEFAULT_KEY_FILE = '/run/flannel/wgkey';
export const WG_KEY_LEN = 32;

/** This host's key pair. `privateKey` never leaves the process except into the device. */
export interface WireguardKeyPair {
  readonly privateKey: Buffer;
  readonly publicKey: Buffer;
}

/** The key file to use: WIREGUARD_KEY_FILE when set (as flannel), else /run/flannel/wgkey. */
export function keyFilePath(env: NodeJS.ProcessEnv): string {
  const v = env['WIREGUARD_KEY_FILE'];
  return v !== undefined && v !== '' ? v : DEFAULT_KEY_FILE;
}

/** A WireGuard key in its text form (standard base64 of 32 bytes, as `wg` prints); undefined when it is not one. */
export function parseWireguardKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(t)) return undefined;
  const key = Buffer.from(t, 'base64');
  return key.length === WG_KEY_LEN && key.toString('base64') === t ? key : undefined;
}

/** A fresh private key, clamped as Curve25519 wants it (as `wg genkey` does). */
export function generatePrivateKey(): Buffer {
  const k = randomBytes(WG_KEY_LEN);
  k[0] = (k[0] as number) & 248;
  k[31] = ((k[31] as number) & 127) | 64;
  return k;
}

/** PKCS#8 wrapping of a raw X25519 private key (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The public key of a private key (X25519 with the base point, as `wg pubkey`). */
export function publicKeyOf(privateKey: Buffer): Buffer {
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return Buffer.from(spki.subarray(spki.length - WG_KEY_LEN));
}

/**
 * Reads this host's private key from `file`, or, when the file does not exist, generates one and
 * writes it there (base64, as flannel writes it; mode 0400; created whole or not at all), so the
 * public key in the lease stays the same across restarts. A file readable by others is narrowed
 * to 0400. Throws WireguardKeyError naming the file, never the key.
 */
export async function loadOrCreateKey(file: string, onNote: (msg: string) => void = () => {}): Promise<WireguardKeyPair & { created: boolean }> {
  let text: string | undefined;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new WireguardKeyError(file, 'not a regular file');
    if ((st.mode & 0o077) !== 0) {
      await chmod(file, 0o400);
      onNote(`private key file ${file} was readable by others (mode ${(st.mode & 0o777).toString(8)}); now 0400`);
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof WireguardKeyError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new WireguardKeyError(file, `cannot be read: ${errorMessage(err)}`, { cause: err });
  }
  if (text !== undefined) {
    const privateKey = parseWireguardKey(text);
    if (!privateKey) throw new WireguardKeyError(file, 'does not hold a WireGuard private key (base64 of 32 bytes, as `wg genkey` prints)');
    return { privateKey, publicKey: publicKeyOf(privateKey), created: false };
  }
  const privateKey = generatePrivateKey();
  await writeKeyFile(file, privateKey);
  return { privateKey, publicKey: publicKeyOf(privateKey), created: true };
}

/** Writes the key to a temporary file and links it into place: a crash never leaves half a key. */
async function writeKeyFile(file: string, privateKey: Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    const fh = await open(tmp, 'wx', 0o400);
    try {
      await fh.writeFile(privateKey.toString('base64'));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await link(tmp, file);
  } catch (err) {
    throw new WireguardKeyError(file, `cannot be written: ${errorMessage(err)}`, { cause: err });
  } finally {
    await unlink(tmp).catch(() => {});
  }
}
