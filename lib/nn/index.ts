/**
 * Dense neural-network building blocks: layers ({@link Linear}, {@link ReLU}, {@link L2Normalize},
 * {@link LayerNorm}, {@link Sequential}), optimizers ({@link SGD}, {@link Adam}, {@link AdamW}) and a
 * seeded generator for initialisation ({@link Random}).
 */
export { Parameter, type Module } from './module.js'
export {
  Linear,
  ReLU,
  L2Normalize,
  LayerNorm,
  type LinearOptions,
  type L2NormalizeOptions,
  type LayerNormOptions,
} from './layers.js'
export { Sequential, type TensorState } from './sequential.js'
export { Conv2d, MAX_CONV2D_OPTION, type Conv2dOptions } from './conv2d.js'
export { SGD, Adam, AdamW, type Optimizer, type OptimizerState, type SGDOptions, type AdamOptions } from './optim.js'
export { Random, defaultRng, type RandomSource } from '../random.js'
