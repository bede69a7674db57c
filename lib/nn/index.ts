/**
 * Dense neural-network building blocks: layers ({@link Linear}, {@link ReLU}, {@link L2Normalize},
 * {@link LayerNorm}, {@link Sequential}), optimizers ({@link SGD}, {@link Adam}, {@link AdamW}), a moving
 * average of weights ({@link WeightAverage}) and a seeded generator for initialisation ({@link Random}).
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
export {
  MaxPool2d,
  AvgPool2d,
  Downsample2d,
  GlobalAvgPool2d,
  Pool2dBase,
  type Pool2dOptions,
  type Downsample2dOptions,
  type GlobalAvgPool2dOptions,
} from './pool.js'
export { GroupNorm, type GroupNormOptions } from './norm.js'
export { Conv2d, MAX_CONV2D_OPTION, type Conv2dOptions } from './conv2d.js'
export { SGD, Adam, AdamW, type Optimizer, type OptimizerState, type SGDOptions, type AdamOptions } from './optim.js'
export { WeightAverage, type WeightAverageOptions } from './average.js'
export { Random, defaultRng, type RandomSource } from '../random.js'
