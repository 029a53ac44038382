// Packaged CNI plugin only (scripts/package.mjs puts this in place of src/cni/spawn-native.ts):
// the spawn addon travels inside the executable as the SEA asset "spawn.node" (or sits next to
// it): see src/sea/native-addon.ts.
'use strict';
const { loadNativeAddon } = require('../../dist/src/sea/native-addon.js');
exports.loadSpawnNative = () => loadNativeAddon('spawn.node');
