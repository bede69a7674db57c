/** The text family: featurisation and the hash embedding bag. */
export {
  type FeaturizeOptions,
  featurize,
  type TextFeatures,
  type Token,
  tokenize,
} from './features.js'
export { hashRows, hashToken, type TokenKind, TokenKinds } from './hash.js'
export {
  type HashBagGrads,
  type HashBagTensors,
  HashEmbeddingBag,
  type HashEmbeddingBagOptions,
  type SparseGrad,
  type TokenRows,
} from './hash-bag.js'
export { normalizeText } from './normalize.js'
export { LazyAdam, type LazyAdamOptions, SparseAdagrad, type SparseAdagradOptions } from './sparse-optim.js'
