/**
 * flannel_kernel_operations_total without touching the kernel layer: a Proxy over KernelOps that
 * counts each call of a promise-returning method, by method name (kind, e.g. "replaceRoutes")
 * and outcome. One count per call (a batch of 5,000 routes is one operation). Used only when
 * metrics are on; subscribe() (a stream) and close() pass through uncounted.
 */
import type { KernelOps } from '../kernel/kernel-ops.js';
import type { AgentMetrics } from './agent-metrics.js';

const UNCOUNTED = new Set<PropertyKey>(['subscribe', 'close', 'constructor']);

export function instrumentKernel<K extends KernelOps>(kernel: K, metrics: Pick<AgentMetrics, 'kernelOp'>): K {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(kernel, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || UNCOUNTED.has(prop) || typeof prop !== 'string') return value;
      let fn = wrapped.get(prop);
      if (fn === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        fn = function (this: unknown, ...args: unknown[]): unknown {
          const out = method.apply(target, args);
          if (!(out instanceof Promise)) return out;
          return out.then(
            (v: unknown) => {
              metrics.kernelOp(prop, 'ok');
              return v;
            },
            (err: unknown) => {
              metrics.kernelOp(prop, 'error');
              throw err;
            },
          );
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}
