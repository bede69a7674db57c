/**
 * The onnxruntime-node peer of `simsage bench conv2d`: a one-node ONNX graph (built with simsage's
 * graph builder, `OnnxGraph`) for a 2-D Conv over NCHW, holding simsage's own weights as
 * initializers. ONNX Conv takes x [B, C, H, W] and W [C_out, C_in, KH, KW], simsage's layouts, so
 * inputs, weights and outputs go across unchanged. Sessions and ORT loading are shared with the
 * temporal peer (`ortRunner`, `loadOrt` in onnxTemporal.ts). ONNX Runtime has no training kernels
 * in onnxruntime-node: there is no backward to compare against.
 */
import { OnnxGraph } from 'simsage'

/** One Conv2d layer: shape, options and weights (PyTorch layout). */
export interface Conv2dWeights {
  readonly inChannels: number
  readonly outChannels: number
  readonly height: number
  readonly width: number
  readonly kernel: readonly [number, number]
  readonly stride: readonly [number, number]
  readonly padding: readonly [number, number]
  readonly dilation: readonly [number, number]
  /** [C_out, C_in, KH, KW]. */
  readonly weight: Float32Array
  /** [C_out], or undefined. */
  readonly bias?: Float32Array
  /** Output height and width. */
  readonly outHeight: number
  readonly outWidth: number
}

/** y[B, C_out, OH, OW] = Conv(x[B, C_in, H, W]) with symmetric zero padding (B symbolic), opset 17. */
export function buildConv2dModel(c: Conv2dWeights): Uint8Array {
  const g = new OnnxGraph('conv2d')
  const x = g.input('x', 'float32', ['B', c.inChannels, c.height, c.width])
  const inputs = [x, g.initializer('w', c.weight, [c.outChannels, c.inChannels, c.kernel[0], c.kernel[1]])]
  if (c.bias) inputs.push(g.initializer('b', c.bias, [c.outChannels]))
  const y = g.op(
    'Conv',
    inputs,
    {
      kernel_shape: [...c.kernel],
      strides: [...c.stride],
      dilations: [...c.dilation],
      pads: [c.padding[0], c.padding[1], c.padding[0], c.padding[1]],
      group: 1,
    },
    'y',
  )
  g.output(y, 'float32', ['B', c.outChannels, c.outHeight, c.outWidth])
  return g.toBytes({ producer: 'simsage-bench' })
}
