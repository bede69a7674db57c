/**
 * Starts a worker_threads Worker on a sibling module of the caller, both when simsage runs compiled
 * (dist/…/x.js) and when it runs as TypeScript source under a loader (tests, `node --import tsx`).
 */
import * as workerThreads from 'node:worker_threads'
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

/**
 * tsx's API module when the parent runs under tsx (`--import tsx`, the tsx CLI) on a Node without
 * `worker_threads.isInternalThread` (before 22.14): tsx then registers its hooks on the main
 * thread only, and a worker must register them itself.
 */
function tsxToRegister(execArgv: string[]): string | undefined {
  if ('isInternalThread' in workerThreads) return undefined
  if (!execArgv.some((a) => /(^|[=/\\])tsx($|[/\\])/.test(a))) return undefined
  try {
    return import.meta.resolve('tsx/esm/api')
  } catch {
    return undefined
  }
}

/**
 * Starts `./<name>.js` next to `base` (the caller's `import.meta.url`) in a Worker.
 *
 * Compiled, `base` is a .js file and so is the worker. From source, `base` is a .ts file and the
 * worker is the .ts sibling, loaded through the loader the parent was started with (a Worker
 * inherits execArgv: ts-node's `--import` under tap, `--import tsx`); where tsx would not register
 * in the worker (see {@link tsxToRegister}), a small bootstrap registers it, then imports the entry.
 */
export function startModuleWorker(base: string, name: string, options: WorkerOptions = {}): Worker {
  const execArgv = options.execArgv ?? workerExecArgv()
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), { ...options, execArgv })
  const entry = new URL(`./${name}.ts`, base)
  const tsx = tsxToRegister(execArgv)
  if (!tsx) return new Worker(entry, { ...options, execArgv })
  const load = `import(${JSON.stringify(entry.href)})`
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return ${load} })`
  return new Worker(bootstrap, { ...options, execArgv, eval: true })
}
