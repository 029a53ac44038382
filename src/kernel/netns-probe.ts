/**
 * The child side of readNetnsSnapshot(): started by `nsenter --net=<path>` inside the namespace
 * to read, it prints that namespace's links, addresses and routes as one JSON document on
 * stdout (see netnsProbeMain). The packaged executables run the same code with PROBE_ARG.
 */
import { netnsProbeMain } from './netns-snapshot.js';

process.exitCode = await netnsProbeMain({ stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
