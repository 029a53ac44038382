// Packaged executables only: stands in for the node-gyp-build package, which netlink/dist/raw.js
// calls to find its prebuilt binding on disk. Here the binding travels inside the executable as the
// SEA asset "netlink.node" (or sits next to it): see src/sea/native-addon.ts.
'use strict';
const { loadNativeAddon } = require('../../dist/src/sea/native-addon.js');
module.exports = () => loadNativeAddon('netlink.node');
