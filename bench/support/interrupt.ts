/**
 * A signal that aborts on the first SIGINT or SIGTERM, so that a run stops after tearing its
 * namespaces down instead of dying with them in place.
 */
export function interruptSignal(): AbortSignal {
  const interrupt = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupt.signal.aborted) return;
    process.stderr.write(`${sig}: stopping after teardown\n`);
    interrupt.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return interrupt.signal;
}
