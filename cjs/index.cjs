// require('simsage'): see load.cjs.
'use strict'
module.exports = require('./load.cjs').loadEsm('../dist/lib/index.js', 'simsage')
