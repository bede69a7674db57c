/**
 * Starts a worker_threads Worker on a sibling module of the caller, both when simsage runs compiled
 * (dist/…/x.js) and when it runs as TypeScript source under a loader (tests, `node --import tsx`).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads'

/**
 * The parent's execArgv (loaders such as `--import tsx` included) without `--input-type`, which
 * `node --input-type=module -e ...` sets and which Node refuses for a worker started from a file.
 */
function workerExecArgv(): string[] {
  const out: string[] = []
  for (let i = 0; i < process.execArgv.length; i++) {
    const a = process.execArgv[i]
    if (a === '--input-type') i++
    else if (!a.startsWith('--input-type=')) out.push(a)
  }
  return out
}

/** tsx's API module, when running from source with tsx installed. */
function tsxApi(): string | undefined {
  try {
    return import.meta.resolve('tsx/esm/api')
  } catch {
    return undefined
  }
}

/**
 * Starts `./<name>.js` next to `base` (the caller's `import.meta.url`) in a Worker.
 *
 * Compiled, `base` is a .js file and so is the worker. From source, `base` is a .ts file: the
 * worker is the .ts sibling, imported by a small bootstrap so that it goes through the loader the
 * parent was started with (the Worker inherits execArgv: ts-node's `--import` under tap, `--import
 * tsx`). tsx before Node 22.14 registers its hooks on the main thread only (it needs
 * `worker_threads.isInternalThread` to tell a user worker from Node's loader thread), so there the
 * bootstrap registers tsx itself.
 */
export function startModuleWorker(base: string, name: string, options: WorkerOptions = {}): Worker {
  const execArgv = options.execArgv ?? workerExecArgv()
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), { ...options, execArgv })
  const entry = new URL(`./${name}.ts`, base).href
  const api = tsxApi()
  const bootstrap = `
    const wt = require('node:worker_threads')
    const tsx = ${JSON.stringify(api ?? null)} !== null && !('isInternalThread' in wt) &&
      process.execArgv.some((a) => /(^|[=/\\\\])tsx($|[/\\\\])/.test(a))
    ;(tsx ? import(${JSON.stringify(api ?? '')}).then((m) => m.register()) : Promise.resolve())
      .then(() => import(${JSON.stringify(entry)}))
      .catch((e) => { setImmediate(() => { throw e }) })
  `
  return new Worker(bootstrap, { ...options, execArgv, eval: true })
}
