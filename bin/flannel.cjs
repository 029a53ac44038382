#!/usr/bin/env node
// flannel: the CNI plugin (`"type": "flannel"`). A thin shim: all logic lives in dist/src/cni/cni-main.js.
// The runtime runs it once per pod and reads its answer from stdout; only this file exits.
// bin/flannel is a symbolic link to this file: Node resolves the link and runs a `.cjs` file
// as CommonJS. Not an ES module on purpose: an ES module entry starts Node's ESM loader, ~8 ms
// of a run that is mostly start-up. It requires the one-file CommonJS bundle that
// `npm run build` makes of that code (dist/bundle/), unless the bundle is missing or older
// than tsc's output (a `tsc` run without the bundler): then the modules themselves. No V8 flag
// in the shebang: any V8 flag makes Node compile its own built-in modules afresh (its embedded
// code cache no longer matches), ~12 ms per run.
'use strict';
/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
const { statSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const bundle = join(__dirname, '..', 'dist', 'bundle', 'flannel-cni.cjs');
const modules = join(__dirname, '..', 'dist', 'src', 'cni', 'cni-main.js');
const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1;
const plugin = mtime(bundle) >= mtime(modules) ? Promise.resolve(require(bundle)) : import(pathToFileURL(modules).href);

plugin.then(({ cniMain, processIO }) => cniMain(process.env, processIO())).then((code) => process.exit(code));
