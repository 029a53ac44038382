/**
 * The plugin's stdout/stderr writer: text goes to the descriptor as is, in order; when the
 * descriptor cannot be written, that text and everything after it go through the stream.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fdWriter } from '../../../src/cni/fd-writer.js';

describe('fdWriter', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftc-unit-fd-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes each text to the descriptor, in order, without touching the stream', () => {
    const file = join(dir, 'out');
    const fd = openSync(file, 'w');
    const streamed: unknown[] = [];
    try {
      const write = fdWriter(fd, () => ({ write: (chunk) => streamed.push(chunk) }));
      write('{"cniVersion":"1.0.0"}\n');
      write('ünïcode ✓\n');
      write('x'.repeat(200_000));
    } finally {
      closeSync(fd);
    }
    assert.equal(readFileSync(file, 'utf8'), `{"cniVersion":"1.0.0"}\nünïcode ✓\n${'x'.repeat(200_000)}`);
    assert.deepEqual(streamed, []);
  });

  it('hands the text and all later output to the stream when the descriptor fails', () => {
    const fd = openSync(join(dir, 'closed'), 'w');
    closeSync(fd);
    const streamed: string[] = [];
    let built = 0;
    const write = fdWriter(fd, () => {
      built++;
      return { write: (chunk) => streamed.push(Buffer.from(chunk).toString('utf8')) };
    });
    write('first\n');
    write('second\n');
    assert.deepEqual(streamed, ['first\n', 'second\n']);
    assert.ok(built >= 1);
  });
});
