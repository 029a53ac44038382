/**
 * Types for the prom-client modules imported one by one (prom-metrics.ts says why): each
 * file's `module.exports` is the class of the same name in prom-client's own typings.
 */
declare module 'prom-client/lib/registry.js' {
  import type { Registry } from 'prom-client';
  const value: typeof Registry;
  export default value;
}
declare module 'prom-client/lib/counter.js' {
  import type { Counter } from 'prom-client';
  const value: typeof Counter;
  export default value;
}
declare module 'prom-client/lib/gauge.js' {
  import type { Gauge } from 'prom-client';
  const value: typeof Gauge;
  export default value;
}
declare module 'prom-client/lib/histogram.js' {
  import type { Histogram } from 'prom-client';
  const value: typeof Histogram;
  export default value;
}
