// Packaged executables only (scripts/package.mjs puts this in place of src/kernel/netlink-native.ts):
// the netlink package's socket layer, bundled, whose binding loader is scripts/sea/node-gyp-build.cjs.
'use strict';
exports.loadNetlinkRaw = () => require('netlink/dist/raw.js');
