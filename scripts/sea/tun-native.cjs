// Packaged executables only (scripts/package.mjs puts this in place of src/backend/udp/tun-native.ts):
// the udp backend's TUN addon travels inside the executable as the SEA asset "tun.node" (or sits
// next to it): see src/sea/native-addon.ts.
'use strict';
const { loadNativeAddon } = require('../../dist/src/sea/native-addon.js');
exports.loadTunNative = () => loadNativeAddon('tun.node');
