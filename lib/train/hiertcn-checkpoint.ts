/**
 * HierTCN checkpoints (safetensors: every parameter, the spec and the item vocabulary in the
 * metadata), the item-embedding export as an `EmbeddingIndex`, and the `train hiertcn` /
 * `eval hiertcn` commands.
 */
import { loadInteractions, type InteractionLog } from '../data/sessions.js'
import { splitUsers } from '../data/split-users.js'
import { SessionBatches } from '../data/session-batches.js'
import { ErrorCodes, SimsageError } from '../errors.js'
import { checkPath } from '../io/fs.js'
import { parseSafetensorsHeader, readSafetensorsFile, saveSafetensors, tensorsOf } from '../io/safetensors.js'
import { HierTCN, checkHierTCNSpec, type HierTCNSpec } from '../models/hiertcn.js'
import { NextItemLoss } from '../models/next-item-loss.js'
import { EmbeddingIndex } from '../similarity/embedding-index.js'
import { Random } from '../random.js'
import { evaluateModel, HIERTCN_DEFAULTS, runHierTCNExperiment, type HierTCNExperimentOptions } from './hiertcn.js'

const FORMAT = 'simsage-hiertcn'

/** Writes `model` and its item vocabulary (item i's id is `items[i]`) atomically. */
export async function saveHierTCN(
  path: string,
  model: HierTCN,
  items: readonly string[],
  metadata: Record<string, string> = {},
): Promise<void> {
  if (items.length !== model.spec.items) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `the vocabulary has ${items.length} items, the model ${model.spec.items}`,
    )
  }
  const tensors = Object.fromEntries(
    model.namedParameters().map(([name, p]) => [name, { shape: [...p.shape], data: p.data }]),
  )
  await saveSafetensors(path, tensors, {
    ...metadata,
    format: FORMAT,
    spec: JSON.stringify(model.spec),
    items: JSON.stringify(items),
  })
}

/**
 * Loads a checkpoint written by {@link saveHierTCN}. Every tensor's shape is checked against the
 * spec before anything is copied: a damaged or foreign file is ERR_SIMSAGE_CORRUPT_FILE.
 */
export async function loadHierTCN(
  path: string,
): Promise<{ model: HierTCN; items: string[]; metadata: Record<string, string> }> {
  checkPath(path)
  const bytes = await readSafetensorsFile(path)
  const { entries, metadata, base } = parseSafetensorsHeader(bytes, path)
  const bad = (why: string, cause?: unknown) =>
    new SimsageError(ErrorCodes.CORRUPT_FILE, `${path} is not a valid HierTCN checkpoint: ${why}`, { cause })
  if (metadata.format !== FORMAT || !metadata.spec || !metadata.items) throw bad(`no ${FORMAT} metadata`)
  let spec: HierTCNSpec
  let items: string[]
  try {
    spec = checkHierTCNSpec(JSON.parse(metadata.spec))
    items = JSON.parse(metadata.items)
  } catch (e) {
    throw bad('its spec or vocabulary does not parse', e)
  }
  if (!Array.isArray(items) || items.length !== spec.items || !items.every((x) => typeof x === 'string')) {
    throw bad(`the vocabulary is not ${spec.items} strings`)
  }
  const model = new HierTCN(spec)
  const named = model.namedParameters()
  for (const [name, p] of named) {
    const e = entries[name]
    if (!e) throw bad(`tensor ${name} is missing`)
    if (e.shape.length !== p.shape.length || e.shape.some((d, i) => d !== p.shape[i])) {
      throw bad(`tensor ${name} has shape [${e.shape}], the spec needs [${p.shape}]`)
    }
  }
  if (Object.keys(entries).length !== named.length) throw bad('it holds tensors the spec does not have')
  const tensors = tensorsOf(bytes, entries, base)
  for (const [name, p] of named) p.data.set(tensors[name].data)
  return { model, items, metadata }
}

/**
 * The model's output item embeddings (O: a prediction p scores item i as p · O[i] + bias[i]) as an
 * inner-product `EmbeddingIndex` (the bias is not in it: add it to re-rank exactly): id i is
 * item i of the vocabulary, which is saved in the index metadata (`items`), so the OmniSearchSage
 * task can use them as frozen pre-existing embeddings.
 */
export function itemIndex(model: HierTCN, items: readonly string[]): EmbeddingIndex {
  const index = new EmbeddingIndex({
    dim: model.spec.embeddingDim,
    metric: 'ip',
    metadata: { model: 'hiertcn', items },
  })
  index.add(
    Float64Array.from({ length: items.length }, (_, i) => i),
    model.output.data,
  )
  return index
}

function usersOf(log: InteractionLog, seed: number, which: string): Int32Array {
  const split = splitUsers(log, { seed })
  if (which === 'test' || which === 'valid') return split[which]
  if (which === 'all') return Int32Array.from({ length: log.users.length }, (_, i) => i)
  throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `--users must be test, valid or all, got ${which}`)
}

/** `simsage train hiertcn`: trains on the training users (early stopping on validation), writes the checkpoint. */
export async function trainHierTCNCommand(
  o: Omit<HierTCNExperimentOptions, 'models' | 'log'> & { out: string; exportIndex?: string },
): Promise<void> {
  checkPath(o.out, '--out')
  const result = await runHierTCNExperiment({
    ...HIERTCN_DEFAULTS,
    ...o,
    models: ['hiertcn'],
    progress: true,
    log: (l) => void process.stderr.write(`${l}\n`),
    keep: async (model, log) => {
      await saveHierTCN(o.out, model, log.items, { seed: String(o.seed), epochs: String(o.epochs) })
      process.stdout.write(`checkpoint written to ${o.out}\n`)
      if (o.exportIndex) {
        const index = itemIndex(model, log.items)
        try {
          await index.save(o.exportIndex)
        } finally {
          index.dispose()
        }
        process.stdout.write(`item embeddings written to ${o.exportIndex}\n`)
      }
    },
  })
  const row = result.rows[0]
  process.stdout.write(`${JSON.stringify({ task: 'hiertcn', split: 'test', metrics: row.metrics })}\n`)
}

/** `simsage eval hiertcn`: scores a checkpoint on one user split of a log. */
export async function evalHierTCNCommand(o: {
  checkpoint: string
  sessions: string
  sessionGap?: number
  seed: number
  users: string
  json: boolean
}): Promise<void> {
  const { model, items } = await loadHierTCN(o.checkpoint)
  const raw = await loadInteractions(o.sessions, { sessionGap: o.sessionGap })
  // The split is by user id, so it is the training run's; items the model never saw are dropped
  // from the histories and counted (they cannot be predicted or embedded).
  const users = usersOf(raw, o.seed, o.users)
  const { log, dropped } = raw.withVocabulary(items)
  const loss = new NextItemLoss(model.output, model.itemBias, { kind: 'softmax', rng: new Random(1) })
  const batches = new SessionBatches(log, users, { queues: 64, sessionSteps: 4, maxLength: 16, shuffle: false })
  const m = evaluateModel(model, batches, 64, loss)
  const out = {
    task: 'hiertcn',
    checkpoint: o.checkpoint,
    users: o.users,
    dropped_unknown_actions: dropped,
    metrics: m,
  }
  process.stdout.write(o.json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`)
}
