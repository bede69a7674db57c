/**
 * `simsage bench serve`: load test of the HTTP server on loopback with autocannon. The server runs
 * in its own process (`simsage serve`), autocannon in this one. Cells: POST /v1/search (one
 * 128-d query, k = 10) against N = 100k x 128 cosine, micro-batched vs one search per request, at
 * each concurrency; POST /v1/events (random users and items of a 10k-item HierTCN) with the
 * in-process store and with Redis (a redis-server started here when installed). Each cell runs a
 * fixed number of seconds after a short warm-up. Numbers are indicative (shared machine).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer as netServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomNormal } from './data.js'

/** Options of {@link runServeBench}. */
export interface ServeBenchOptions {
  n: number
  dim: number
  concurrency: number[]
  /** Seconds per cell. */
  duration: number
  items: number
  seed: number
  sections: ('search' | 'events')[]
}

/** One measured cell. */
export interface ServeCell {
  route: string
  mode: string
  concurrency: number
  requestsPerSecond: number
  p50ms: number
  p99ms: number
  requests: number
  errors: number
}

export interface ServeReport {
  bench: 'serve'
  date: string
  options: ServeBenchOptions
  cells: ServeCell[]
  notes: string[]
}

type Autocannon = (opts: Record<string, unknown>) => Promise<{
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  errors: number
  timeouts: number
  non2xx: number
}>

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'simsage.js')

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

/** Spawns `simsage serve` and resolves with its URL and process. */
async function startServer(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 120_000)
    const read = (d: Buffer) => {
      out += d.toString()
      const m = /on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    }
    child.stdout?.on('data', read)
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)))
  })
  return { url, child }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

async function startRedis(): Promise<{ url: string; child: ChildProcess } | undefined> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return undefined
  const port = await freePort()
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  )
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (/ready to accept connections/i.test(out)) resolve()
    })
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)))
  })
  return { url: `redis://127.0.0.1:${port}`, child }
}

async function cell(
  autocannon: Autocannon,
  url: string,
  path: string,
  bodies: string[],
  concurrency: number,
  duration: number,
): Promise<Omit<ServeCell, 'route' | 'mode' | 'concurrency'>> {
  let i = 0
  const opts = {
    url,
    connections: concurrency,
    pipelining: 1,
    requests: [
      {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[i++ % bodies.length] }),
      },
    ],
  }
  await autocannon({ ...opts, duration: Math.min(1, duration) }) // warm-up
  const r = await autocannon({ ...opts, duration })
  return {
    requestsPerSecond: r.requests.average,
    p50ms: r.latency.p50,
    p99ms: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors + r.timeouts + r.non2xx,
  }
}

/** Runs the load test; see the file comment. */
export async function runServeBench(o: ServeBenchOptions): Promise<ServeReport> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
  const s = await import('simsage')
  const dir = mkdtempSync(join(tmpdir(), 'simsage-bench-serve-'))
  const cells: ServeCell[] = []
  const notes: string[] = []
  const log = (line: string) => process.stderr.write(`${line}\n`)
  try {
    if (o.sections.includes('search')) {
      log(`building the index: ${o.n} x ${o.dim} cosine ...`)
      const index = new s.EmbeddingIndex({ dim: o.dim, metric: 'cosine' })
      await index.addAsync(
        Float64Array.from({ length: o.n }, (_, i) => i),
        randomNormal(o.n * o.dim, o.seed),
      )
      const file = join(dir, 'index.simsage')
      await index.save(file)
      index.dispose()
      const q = randomNormal(1000 * o.dim, o.seed + 1)
      const bodies = Array.from({ length: 1000 }, (_, i) =>
        JSON.stringify({ vectors: [Array.from(q.subarray(i * o.dim, (i + 1) * o.dim), (v) => +v.toFixed(4))], k: 10 }),
      )
      for (const batching of [true, false]) {
        const server = await startServer(['--index', file, ...(batching ? [] : ['--no-batching'])])
        try {
          for (const c of o.concurrency) {
            log(`search, ${batching ? 'micro-batched' : 'one per request'}, concurrency ${c} ...`)
            const r = await cell(autocannon, server.url, '/v1/search', bodies, c, o.duration)
            cells.push({
              route: '/v1/search',
              mode: batching ? 'micro-batched' : 'one-per-request',
              concurrency: c,
              ...r,
            })
          }
        } finally {
          await stop(server.child)
        }
      }
    }
    if (o.sections.includes('events')) {
      const spec = {
        items: o.items,
        embeddingDim: 64,
        userHidden: 64,
        userLayers: 2,
        channels: [64, 64, 64],
        dilations: [1, 2, 4],
        kernelSize: 3,
        dropout: 0,
        decayTau: 0,
      }
      const model = new s.HierTCN(spec, o.seed)
      const items = Array.from({ length: o.items }, (_, i) => `i${i}`)
      const modelDir = join(dir, 'model')
      await import('node:fs').then((fs) => fs.mkdirSync(modelDir, { recursive: true }))
      await s.saveHierTCN(join(modelDir, 'hiertcn.safetensors'), model, items)
      const small = new s.EmbeddingIndex({ dim: 4, metric: 'ip' })
      small.add([0], new Float32Array([1, 0, 0, 0]))
      const file = join(dir, 'small.simsage')
      await small.save(file)
      small.dispose()
      let x = o.seed >>> 0 || 1
      const rnd = () => {
        x ^= x << 13
        x ^= x >>> 17
        x ^= x << 5
        return (x >>> 0) / 2 ** 32
      }
      const bodies = Array.from({ length: 4096 }, () =>
        JSON.stringify({ user: `u${Math.floor(rnd() * 10_000)}`, item: items[Math.floor(rnd() * o.items)] }),
      )
      const redis = await startRedis()
      if (!redis) notes.push('redis-server is not installed: the Redis events cells were skipped')
      try {
        for (const store of ['in-process', 'redis'] as const) {
          if (store === 'redis' && !redis) continue
          const server = await startServer([
            '--index',
            file,
            '--model',
            modelDir,
            ...(store === 'redis' && redis ? ['--redis', redis.url] : []),
          ])
          try {
            for (const c of o.concurrency) {
              log(`events, ${store} store, concurrency ${c} ...`)
              const r = await cell(autocannon, server.url, '/v1/events', bodies, c, o.duration)
              cells.push({ route: '/v1/events', mode: store, concurrency: c, ...r })
            }
          } finally {
            await stop(server.child)
          }
        }
      } finally {
        if (redis) await stop(redis.child)
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return { bench: 'serve', date: new Date().toISOString(), options: o, cells, notes }
}

/** The report as a table, with the micro-batched / one-per-request ratio per concurrency. */
export function formatServeReport(r: ServeReport): string {
  const lines = [
    `simsage bench serve: N = ${r.options.n} x ${r.options.dim} cosine, ${r.options.duration} s per cell, loopback (indicative)`,
    '',
    'route        mode              conc    req/s   p50 ms   p99 ms  errors',
  ]
  for (const c of r.cells) {
    lines.push(
      `${c.route.padEnd(12)} ${c.mode.padEnd(16)} ${String(c.concurrency).padStart(5)} ${c.requestsPerSecond
        .toFixed(0)
        .padStart(
          8,
        )} ${c.p50ms.toFixed(1).padStart(8)} ${c.p99ms.toFixed(1).padStart(8)} ${String(c.errors).padStart(7)}`,
    )
  }
  const by = (mode: string, conc: number) =>
    r.cells.find((c) => c.route === '/v1/search' && c.mode === mode && c.concurrency === conc)
  const ratios = r.options.concurrency
    .map((c) => {
      const b = by('micro-batched', c)
      const one = by('one-per-request', c)
      return b && one ? `${c}: ${(b.requestsPerSecond / one.requestsPerSecond).toFixed(2)}x` : undefined
    })
    .filter((x) => x !== undefined)
  if (ratios.length) lines.push('', `micro-batched / one-per-request req/s at concurrency ${ratios.join(', ')}`)
  for (const n of r.notes) lines.push(`note: ${n}`)
  return lines.join('\n')
}
