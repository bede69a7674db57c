/**
 * `simsage serve`: loads the artifacts named on the command line (or builds the demo's), starts the
 * server, prints its URL and example requests, and shuts down cleanly on SIGTERM / SIGINT
 * (in-flight requests drained, Redis closed).
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { ErrorCodes, SimsageError } from '../errors.js'
import { loadTower } from '../models/ranking-tower.js'
import { loadHierTCN } from '../train/hiertcn-checkpoint.js'
import { buildDemo } from './demo.js'
import { RedisStateStore } from './redis-store.js'
import { createServer, type ServerOptions } from './server.js'
import type { StateStore } from './state-store.js'

/** Options of {@link serveCommand} (the CLI's). */
export interface ServeCommandOptions {
  index?: string
  /** Shard server URLs: run as a router in front of them instead of serving an index. */
  shards?: string[]
  model?: string
  demo?: boolean
  cache?: string
  port: number
  host: string
  redis?: string
  token?: string
  batching: boolean
  watch: boolean
  maxK: number
  maxQueries: number
  bodyLimit: number
  /** Users kept in process without --redis (default 1,000,000). */
  maxUsers?: number
  /** Print lines (default: stdout). */
  print?: (line: string) => void
}

/**
 * Loads `dir`'s tower.safetensors (ranking tower: /v1/embed), hiertcn.safetensors (events and
 * recommendations) and searchsage.safetensors (query tower: text searches); at least one.
 */
export async function loadModelDir(
  dir: string,
): Promise<Pick<ServerOptions, 'tower' | 'hiertcn' | 'queryTower' | 'queryPrefix'>> {
  const towerPath = join(dir, 'tower.safetensors')
  const hiertcnPath = join(dir, 'hiertcn.safetensors')
  const searchPath = join(dir, 'searchsage.safetensors')
  const out: Pick<ServerOptions, 'tower' | 'hiertcn' | 'queryTower' | 'queryPrefix'> = {}
  if (existsSync(towerPath)) {
    const t = await loadTower(towerPath)
    out.tower = { model: t.model, spec: t.spec }
  }
  if (existsSync(hiertcnPath)) {
    const h = await loadHierTCN(hiertcnPath)
    out.hiertcn = { model: h.model, items: h.items }
  }
  if (existsSync(searchPath)) {
    const { loadSearchSage } = await import('../search/checkpoint.js')
    const m = await loadSearchSage(searchPath)
    out.queryTower = m.query
    out.queryPrefix = m.queryPrefix
  }
  if (!out.tower && !out.hiertcn && !out.queryTower) {
    throw new SimsageError(
      ErrorCodes.NOT_FOUND,
      `${dir} holds none of tower.safetensors, hiertcn.safetensors, searchsage.safetensors`,
    )
  }
  return out
}

/** Default cache of the demo's artifacts: $SIMSAGE_CACHE or ~/.cache/simsage. */
export function defaultCacheDir(): string {
  return process.env.SIMSAGE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'simsage')
}

/** Runs the server until SIGTERM / SIGINT. */
export async function serveCommand(o: ServeCommandOptions): Promise<void> {
  const print = o.print ?? ((line: string) => process.stdout.write(`${line}\n`))
  if (o.shards) {
    if (o.index || o.model || o.demo || o.redis) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        '--shards runs a router: it takes no --index, --model, --demo or --redis',
      )
    }
    const { createRouterServer } = await import('./router-server.js')
    const router = await createRouterServer({
      shards: o.shards,
      token: o.token,
      maxK: o.maxK,
      maxQueries: o.maxQueries,
      bodyLimit: o.bodyLimit,
    })
    const url = await router.listen(o.port, o.host)
    onSignals(() => router.close())
    print(`simsage routing searches over ${o.shards.length} shards on ${url}`)
    return
  }
  let index = o.index
  let modelDir = o.model
  let sample: number[][] | undefined
  if (o.demo) {
    const d = await buildDemo(o.cache ?? defaultCacheDir(), (l) => process.stderr.write(`${l}\n`))
    index ??= d.index
    modelDir ??= d.model
    sample = d.sample
  }
  if (!index) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'give --index <file> (or --demo)')
  const models = modelDir ? await loadModelDir(modelDir) : {}
  let store: StateStore | undefined
  if (o.redis) {
    const redis = new RedisStateStore(o.redis)
    try {
      await redis.connect(3000)
    } catch (e) {
      process.stderr.write(`warning: ${(e as Error).message}; serving unready until Redis answers\n`)
    }
    store = redis
  }
  const server = await createServer({
    index,
    ...models,
    store,
    token: o.token,
    batching: o.batching,
    watch: o.watch,
    maxK: o.maxK,
    maxQueries: o.maxQueries,
    bodyLimit: o.bodyLimit,
    maxUsers: o.maxUsers,
  })
  const url = await server.listen(o.port, o.host)
  onSignals(() => server.close())
  print(`simsage serving ${server.holder.current.index.size} vectors on ${url}`)
  const auth = o.token ? ` -H 'authorization: Bearer ${o.token}'` : ''
  const json = ` -H 'content-type: application/json'`
  if (sample && models.tower) {
    const t = models.tower
    const x = Float32Array.from(sample[0])
    const q = Array.from(t.model.forward(x, 1).subarray(0, t.spec.embeddingDim), (v) => +v.toFixed(4))
    const item = models.hiertcn?.items[0] ?? '0'
    print('try:')
    print(`  curl -s -X POST ${url}/v1/search${auth}${json} -d '${JSON.stringify({ vectors: [q], k: 5 })}'`)
    print(`  curl -s -X POST ${url}/v1/events${auth}${json} -d '${JSON.stringify({ user: 'alice', item })}'`)
    print(`  curl -s '${url}/v1/recommend/alice?k=5'${auth}`)
  } else {
    print(`try: curl -s ${url}/readyz`)
  }
}

/** On SIGTERM / SIGINT: `close` (drains in-flight requests), then exit 0 (1 if closing failed). */
function onSignals(close: () => Promise<void>): void {
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    process.stderr.write(`${signal}: draining in-flight requests ...\n`)
    close().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`shutdown failed: ${(e as Error).message}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}
