import type { IncomingMessage } from 'node:http';

/** A stand-in's request body, whole (a body over `limit` bytes destroys the request). */
export function readBody(req: IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The same, as UTF-8 text. */
export async function readBodyText(req: IncomingMessage, limit?: number): Promise<string> {
  return (await readBody(req, limit)).toString('utf8');
}
