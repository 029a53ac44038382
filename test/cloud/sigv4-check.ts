/**
 * Server-side check of an AWS Signature Version 4 `Authorization` header, as a stand-in needs it:
 * the credential scope's access key ID must be known and the signature must match one computed
 * with its secret over the canonical request. Follows the AWS reference "Create a signed AWS API
 * request" (IAM User Guide, reference_sigv-create-signed-request): canonical request =
 * method, URI, query, canonical headers, signed headers, payload hash; string to sign =
 * "AWS4-HMAC-SHA256", X-Amz-Date, scope, hash(canonical request); key = HMAC chain over date,
 * region, service, "aws4_request".
 */
import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type SigV4Result = { ok: true; accessKeyId: string; region: string; service: string } | { ok: false; code: 'AuthFailure' | 'IncompleteSignature' | 'SignatureDoesNotMatch'; message: string };

const AUTH_RE = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return (Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ');
}

function canonicalQuery(search: string): string {
  const params = [...new URLSearchParams(search)].map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const);
  params.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  return params.map(([k, v]) => `${k}=${v}`).join('&');
}

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Checks the request's SigV4 signature against `secrets` (access key ID -> secret access key). */
export function checkSigV4(method: string, url: string, headers: IncomingHttpHeaders, body: Buffer, secrets: ReadonlyMap<string, string>): SigV4Result {
  const auth = headerValue(headers, 'authorization');
  if (auth === '') return { ok: false, code: 'AuthFailure', message: 'AWS was not able to validate the provided access credentials' };
  const m = AUTH_RE.exec(auth);
  if (!m) return { ok: false, code: 'IncompleteSignature', message: 'The request signature does not conform to AWS standards.' };
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string, string];
  const secret = secrets.get(accessKeyId);
  if (secret === undefined) return { ok: false, code: 'AuthFailure', message: 'AWS was not able to validate the provided access credentials' };
  const amzDate = headerValue(headers, 'x-amz-date');
  if (!amzDate.startsWith(date)) return { ok: false, code: 'IncompleteSignature', message: 'X-Amz-Date does not match the credential scope date' };
  const u = new URL(url, 'http://standin');
  const names = signedHeaders.split(';');
  if (!names.includes('host')) return { ok: false, code: 'IncompleteSignature', message: 'the host header must be signed' };
  const canonicalHeaders = names.map((n) => `${n}:${headerValue(headers, n)}\n`).join('');
  const payloadHash = headerValue(headers, 'x-amz-content-sha256') || sha256(body);
  const canonicalRequest = [method, u.pathname || '/', canonicalQuery(u.search), canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  if (expected !== signature) {
    return { ok: false, code: 'AuthFailure', message: 'AWS was not able to validate the provided access credentials (signature does not match)' };
  }
  return { ok: true, accessKeyId, region, service };
}
