// require('simsage/internal'): see load.cjs.
'use strict'
module.exports = require('./load.cjs').loadEsm('../dist/lib/internal.js', 'simsage/internal')
