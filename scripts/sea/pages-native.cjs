// Packaged executables only (scripts/package.mjs puts this in place of src/memory/pages-native.ts):
// the pages addon travels inside the executable as the SEA asset "pages.node" (or sits next to
// it): see src/sea/native-addon.ts.
'use strict';
const { loadNativeAddon } = require('../../dist/src/sea/native-addon.js');
exports.loadPagesNative = () => loadNativeAddon('pages.node');
