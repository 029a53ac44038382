import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ToolError } from '../../../src/errors.js';
import { runTool } from '../../../src/kernel/exec-tool.js';

const node = process.execPath;

describe('runTool', () => {
  it('feeds stdin and returns stdout and stderr', async () => {
    const r = await runTool([node, '-e', 'process.stdin.pipe(process.stdout); process.stderr.write("note")'], { stdin: '*nat\nCOMMIT\n' });
    assert.equal(r.stdout, '*nat\nCOMMIT\n');
    assert.equal(r.stderr, 'note');
  });

  it('a non-zero exit is a ToolError with argv, exit code and stderr', async () => {
    const argv = [node, '-e', 'process.stderr.write("iptables-restore: line 2 failed\\n"); process.exit(4)'];
    await assert.rejects(runTool(argv), (err: unknown) => {
      assert.ok(err instanceof ToolError);
      assert.equal(err.code, 'ERR_TOOL');
      assert.deepEqual(err.argv, argv);
      assert.equal(err.exitCode, 4);
      assert.equal(err.stderr, 'iptables-restore: line 2 failed');
      assert.match(err.message, /exit status 4: iptables-restore: line 2 failed$/);
      return true;
    });
  });

  it('a missing tool is ERR_TOOL_NOT_FOUND', async () => {
    await assert.rejects(runTool(['flannel-ts-no-such-tool', '-x']), (err: unknown) => err instanceof ToolError && err.code === 'ERR_TOOL_NOT_FOUND' && err.exitCode === null);
  });

  it('kills a tool that runs past its bound', async () => {
    const t0 = Date.now();
    await assert.rejects(runTool([node, '-e', 'setTimeout(() => {}, 60000)'], { timeoutMs: 300 }), (err: unknown) => err instanceof ToolError && err.code === 'ERR_TOOL_TIMEOUT' && err.signal === 'SIGKILL');
    assert.ok(Date.now() - t0 < 10_000);
  });

  it('rejects with the signal reason when aborted', async () => {
    const ac = new AbortController();
    const p = runTool([node, '-e', 'setTimeout(() => {}, 60000)'], { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 100);
    await assert.rejects(p, /stop/);
    await assert.rejects(runTool([node, '-e', ''], { signal: ac.signal }), /stop/);
  });
});
