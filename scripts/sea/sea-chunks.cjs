// Packaged executables only: loads a code chunk carried inside the executable as the SEA asset
// "chunk:<name>" (scripts/package.mjs splits out what only some modes need, such as the cloud
// backends with their SDKs, kube mode, wireguard, ipsec: a vxlan host in etcd mode then neither
// parses nor holds their code). A chunk is a CommonJS bundle of its own; the modules it shares
// with the main bundle (errors, logging, IP types, ...) are not copied into it but taken from the
// main bundle through `flannel-ts-shared:<path>` requires, so classes keep one identity
// (`instanceof ConfigError` holds across the two). The table of those modules is generated at
// build time (the virtual module "flannel-ts-sea-shared").
'use strict';
const { getAsset } = require('node:sea');
const { compileFunction } = require('node:vm');
const shared = require('flannel-ts-sea-shared');

const SHARED_PREFIX = 'flannel-ts-shared:';
/** @type {Map<string, { exports: unknown }>} */
const loaded = new Map();

function chunkRequire(id) {
  if (id.startsWith(SHARED_PREFIX)) {
    const get = shared[id.slice(SHARED_PREFIX.length)];
    if (get === undefined) throw new Error(`packaged chunk: shared module ${id.slice(SHARED_PREFIX.length)} is not in the main bundle`);
    return get();
  }
  return require(id);
}

/** The exports of chunk `name`, run once per process. */
exports.loadChunk = (name) => {
  const hit = loaded.get(name);
  if (hit !== undefined) return hit.exports;
  let source;
  try {
    source = getAsset(`chunk:${name}`, 'utf8');
  } catch (err) {
    throw new Error(`packaged chunk ${name}: not in this executable (${err.message})`, { cause: err });
  }
  const fn = compileFunction(source, ['exports', 'require', 'module'], { filename: `flannel-ts:${name}.cjs` });
  const module = { exports: {} };
  loaded.set(name, module);
  try {
    fn.call(module.exports, module.exports, chunkRequire, module);
  } catch (err) {
    loaded.delete(name);
    throw err;
  }
  return module.exports;
};
