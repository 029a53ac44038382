/**
 * How the plugin's shims end its process (cni-main.ts quickExit(), else process.exit()): once a
 * delegate ran through the spawn addon and every line went out synchronously, with _exit(): the
 * exit code and all output are there, and Node's teardown (its 'exit' event) never runs; with no
 * addon loaded, or when a line had to go through a stream, with process.exit() as before.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { run } from '../../support/command.js';

const SRC = fileURLToPath(new URL('../../../src/cni/', import.meta.url));

describe('the plugin process end', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftc-unit-end-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs a script that writes through fdWriter, maybe runs /bin/true through the addon, and ends as the shims do. */
  async function end(opts: { delegate: boolean; streamed: boolean; code: number }) {
    const script = join(dir, `end-${opts.delegate}-${opts.streamed}.mjs`);
    const mod = (name: string) => JSON.stringify(pathToFileURL(join(SRC, name)).href);
    await writeFile(
      script,
      [
        `import { quickExit } from ${mod('cni-main.js')};`,
        `import { fdWriter } from ${mod('fd-writer.js')};`,
        `import { addonSpawnSync } from ${mod('spawn-sync.js')};`,
        `process.on('exit', () => process.stderr.write('exit event\\n'));`,
        opts.delegate ? `if (addonSpawnSync()({ file: '/bin/true', env: {}, input: '', timeoutMs: 5000, maxBuffer: 100 }).status !== 0) throw new Error('no run');` : '',
        // A descriptor that cannot be written makes the writer fall back to its stream.
        `const out = fdWriter(${opts.streamed ? 99 : 1}, () => process.stdout);`,
        `out('{"answer":' + '1'.repeat(100000) + '}\\n');`,
        `const exit = quickExit(); if (exit) exit(${opts.code}); process.exit(${opts.code});`,
      ].join('\n'),
    );
    const r = await run([process.execPath, script], { allowFailure: true, env: { NODE_OPTIONS: '' } });
    assert.equal(r.stdout, `{"answer":${'1'.repeat(100000)}}\n`);
    return r;
  }

  it('after a delegate ran through the addon: _exit, the code kept, all output there, no teardown', async () => {
    for (const code of [0, 1, 7]) {
      const r = await end({ delegate: true, streamed: false, code });
      assert.equal(r.exitCode, code);
      assert.equal(r.stderr, '', 'no exit event: Node did not tear down');
    }
  });

  it('with no addon loaded: process.exit', async () => {
    const r = await end({ delegate: false, streamed: false, code: 1 });
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, 'exit event\n');
  });

  it('when a line went through a stream: process.exit, which writes it out', async () => {
    const r = await end({ delegate: true, streamed: true, code: 0 });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stderr, 'exit event\n');
  });
});
