/**
 * The temporal family's GRU exports (folded into lib/temporal/index.ts by the integrator).
 */
export { GRU, type GRUForwardOptions, type GRUOptions } from './gru.js'
export { GRUStream } from './gru-stream.js'
