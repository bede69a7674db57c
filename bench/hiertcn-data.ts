/**
 * Memory of the HierTCN queue generator's data path on a synthetic interaction log several times
 * larger than the symfony one: the whole log loaded in memory (`loadInteractions`) against the log
 * spilled by user partition (`spillInteractions`), one training epoch of `SessionBatches` each, in
 * separate child processes so each peak RSS is its own. Also a child that only loads the modules
 * (the process's floor). Indicative: the machine may be under load, and RSS includes V8's heap
 * slack.
 *
 * Two log sizes (`--users` and three times as many): the whole-log RSS grows with the file, the
 * partitioned one should not (beyond the id tables).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/hiertcn-data.js [--users 30000] [--partition-users 2000]
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { loadInteractions, SessionBatches, spillInteractions } from 'simsage'

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : def
}

/** A log of `users` users (1-60 actions, a heavy user every 500th) over 20,000 items, time-interleaved. */
function writeLog(path: string, users: number): number {
  // A 32-bit LCG (Numerical Recipes): reproducible logs without simsage internals.
  let state = 1
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
  const rng = { next, int: (n: number) => Math.floor(next() * n) }
  const rows: [number, string][] = []
  for (let u = 0; u < users; u++) {
    const n = u % 500 === 0 ? 2000 : 1 + rng.int(60)
    let ts = 1_600_000_000 + rng.int(30_000_000)
    for (let a = 0; a < n; a++) {
      ts += rng.next() < 0.15 ? 86_400 : rng.int(900)
      rows.push([ts, `${u},${ts},${Math.floor(a / 8)},item-${rng.int(20_000)}`])
    }
  }
  rows.sort((a, b) => a[0] - b[0])
  writeFileSync(path, `user_id,timestamp,session_id,item\n${rows.map((r) => r[1]).join('\n')}\n`)
  return rows.length
}

const OPTS = { queues: 64, sessionSteps: 4, maxLength: 16, seed: 1, maxUserSessions: 64 }

async function child(mode: string, path: string, partitionUsers: number): Promise<void> {
  const t0 = performance.now()
  let out: Record<string, number> = {}
  if (mode === 'whole') {
    const log = await loadInteractions(path)
    const gen = new SessionBatches(
      log,
      Int32Array.from({ length: log.numUsers }, (_, u) => u),
      OPTS,
    )
    let batches = 0
    for (const _ of gen) batches++
    out = { batches, held_bytes: log.bytes + gen.dataBytes }
  } else if (mode === 'partitioned') {
    const log = await spillInteractions(path, { partitionUsers })
    const gen = new SessionBatches(
      log,
      Int32Array.from({ length: log.numUsers }, (_, u) => u),
      OPTS,
    )
    let batches = 0
    for (const _ of gen) batches++
    out = { batches, held_bytes: gen.partitionBytes + gen.dataBytes, partitions: log.partitions }
    log.close()
  }
  out.seconds = (performance.now() - t0) / 1000
  out.peak_rss_mb = process.resourceUsage().maxRSS / 1024
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

async function main(): Promise<void> {
  const mode = process.argv[2]
  if (mode === 'child') return child(process.argv[3], process.argv[4], Number(process.argv[5]))
  const partitionUsers = arg('partition-users', 2000)
  const self = fileURLToPath(import.meta.url)
  for (const users of [arg('users', 30_000), 3 * arg('users', 30_000)]) {
    const dir = mkdtempSync(join(tmpdir(), 'simsage-bench-hiertcn-'))
    try {
      const path = join(dir, 'log.csv')
      const rows = writeLog(path, users)
      const mb = statSync(path).size / 2 ** 20
      console.log(
        `synthetic log: ${users} users, ${rows} actions (${mb.toFixed(1)} MB CSV); symfony: 3,918 users, 82,083 actions`,
      )
      const run = (m: string) =>
        JSON.parse(
          execFileSync(process.execPath, [...process.execArgv, self, 'child', m, path, String(partitionUsers)], {
            encoding: 'utf8',
          }).trim(),
        )
      const row = (name: string, r: Record<string, number>) =>
        console.log(
          `  ${name.padEnd(34)} peak RSS ${r.peak_rss_mb.toFixed(0).padStart(5)} MB  data held ${((r.held_bytes ?? 0) / 2 ** 20).toFixed(2).padStart(7)} MB  ${r.seconds.toFixed(1)} s  ${r.batches ?? '-'} batches`,
        )
      row('modules only', run('none'))
      row('whole log in memory', run('whole'))
      const part = run('partitioned')
      row(`partitioned (${partitionUsers} users, ${part.partitions} parts)`, part)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

await main()
