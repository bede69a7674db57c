/** Every tool the similarity benchmark knows, simsage's rows first. */
import { hnswlibTool } from './hnswlib.js'
import { onnxruntimeTool } from './onnxruntime.js'
import { simsageIndexTool, simsageTopkTool } from './simsage.js'
import { tsLoopTool } from './tsLoop.js'
import type { SimilarityTool } from './types.js'
import { usearchTool } from './usearch.js'

export type { SimilarityTool, SearchHits, BuildParams } from './types.js'

/** Fresh adapters, in table order. */
export function allTools(): SimilarityTool[] {
  return [simsageIndexTool(), simsageTopkTool(), usearchTool(), hnswlibTool(), onnxruntimeTool(), tsLoopTool()]
}
