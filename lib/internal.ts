/**
 * Benchmark support (`simsage/internal`): machine probes the benchmarks divide by. Not part of the
 * public API: no semver guarantee, may change or go in any release.
 *
 * @internal
 * @packageDocumentation
 */
export { probeFmaPeak, probeReadBandwidth } from './info.js'
// The ONNX graph pieces the benchmark's onnxruntime peers build their graphs from.
export { linear, linearLast, l2Normalize, layerNorm, relu, transpose } from './onnx/ops.js'
export {
  causalConv,
  gru,
  rznToZrh,
  tcnBlock,
  type ConvWeights,
  type GruWeights,
  type TcnBlockWeights,
} from './onnx/ops-temporal.js'
export { loadOnnxruntime, type OrtModule, type OrtSession, type OrtSessionOptions } from './onnx/ort.js'
export { type BagInputs, hashBag, type OnnxBagWeights } from './onnx/ops-text.js'
