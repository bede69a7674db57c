/**
 * The onnxruntime-node peer of `simsage bench conv2d`: a one-node ONNX graph (built with
 * `onnx-proto`'s generated encoder) for a 2-D Conv over NCHW, holding simsage's own weights as
 * initializers. ONNX Conv takes x [B, C, H, W] and W [C_out, C_in, KH, KW], simsage's layouts, so
 * inputs, weights and outputs go across unchanged. Sessions and ORT loading are shared with the
 * temporal peer (`ortRunner`, `loadOrt` in onnxTemporal.ts). ONNX Runtime has no training kernels
 * in onnxruntime-node: there is no backward to compare against.
 */
import onnxProto from 'onnx-proto'

const { onnx } = onnxProto

const INT = onnx.AttributeProto.AttributeType.INT
const INTS = onnx.AttributeProto.AttributeType.INTS
const FLOAT = onnx.TensorProto.DataType.FLOAT

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

function init(name: string, dims: number[], data: Float32Array): onnxProto.onnx.ITensorProto {
  const copy = Float32Array.from(data) // own buffer: rawData must not alias a larger one
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(copy.buffer) }
}

function floatInfo(name: string, dims: Array<string | number>): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  }
}

/** y[B, C_out, OH, OW] = Conv(x[B, C_in, H, W]) with symmetric zero padding (B symbolic), opset 17. */
export function buildConv2dModel(c: Conv2dWeights): Uint8Array {
  const initializer = [init('w', [c.outChannels, c.inChannels, c.kernel[0], c.kernel[1]], c.weight)]
  const input = ['x', 'w']
  if (c.bias) {
    initializer.push(init('b', [c.outChannels], c.bias))
    input.push('b')
  }
  const node: onnxProto.onnx.INodeProto = {
    opType: 'Conv',
    name: 'conv',
    input,
    output: ['y'],
    attribute: [
      { name: 'kernel_shape', type: INTS, ints: [...c.kernel] },
      { name: 'strides', type: INTS, ints: [...c.stride] },
      { name: 'dilations', type: INTS, ints: [...c.dilation] },
      { name: 'pads', type: INTS, ints: [c.padding[0], c.padding[1], c.padding[0], c.padding[1]] },
      { name: 'group', type: INT, i: 1 },
    ],
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'simsage-bench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'conv2d',
      node: [node],
      initializer,
      input: [floatInfo('x', ['B', c.inChannels, c.height, c.width])],
      output: [floatInfo('y', ['B', c.outChannels, c.outHeight, c.outWidth])],
    },
  })
  return onnx.ModelProto.encode(model).finish()
}
