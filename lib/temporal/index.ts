/** The temporal family: causal dilated convolution, the TCN and its streaming evaluator. */
export { CausalConv1d, type CausalConv1dOptions, type SequenceModule } from './conv.js'
export { TCN, type TCNOptions } from './tcn.js'
export { TCNStream } from './tcn-stream.js'
