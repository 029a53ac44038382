import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KernelOps } from '../../../src/kernel/kernel-ops.js';
import { instrumentKernel } from '../../../src/metrics/instrumented-kernel.js';

describe('instrumentKernel', () => {
  it('counts each promise-returning call by method and result, and passes values and errors through', async () => {
    const counts: string[] = [];
    const fake = {
      routes: 0,
      replaceRoutes(routes: readonly unknown[]) {
        this.routes += routes.length;
        return Promise.resolve();
      },
      deleteLink(name: string) {
        return Promise.reject(new Error(`no link ${name}`));
      },
      linkByIndex(index: number) {
        return Promise.resolve({ index, name: 'x' });
      },
      subscribe() {
        return (async function* () {})();
      },
      close() {},
    };
    const k = instrumentKernel(fake as unknown as KernelOps & { close(): void }, { kernelOp: (kind, result) => counts.push(`${kind} ${result}`) });
    await k.replaceRoutes([{}, {}] as never);
    await k.replaceRoutes([{}] as never);
    assert.equal(fake.routes, 3, 'called on the target, with its this');
    assert.deepEqual(await k.linkByIndex(4), { index: 4, name: 'x' });
    await assert.rejects(k.deleteLink('flannel.1'), /no link flannel\.1/);
    k.subscribe(['link'], { signal: new AbortController().signal });
    k.close();
    assert.deepEqual(counts, ['replaceRoutes ok', 'replaceRoutes ok', 'linkByIndex ok', 'deleteLink error']);
    assert.equal(k.replaceRoutes, k.replaceRoutes, 'wrappers are cached');
  });
});
