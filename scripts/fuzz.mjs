#!/usr/bin/env node
// Builds the libFuzzer targets of native/fuzz/ (clang, -fsanitize=fuzzer,address,undefined) into
// build-fuzz/ and runs them; see docs/reliability.md.
//
//   node scripts/fuzz.mjs [--seconds N] [--ci] [--known] [target ...]
//
// Each target first replays its regression inputs (native/fuzz/regressions/<target>/, strict), then
// fuzzes for N seconds (default 300) from its seed corpus (native/fuzz/corpus/<target>/) into a
// working corpus (build-fuzz/corpus/<target>/); crashes go to build-fuzz/artifacts/<target>/.
// --ci: 20 s per target (strict: no open finding is tolerated; SIMSAGE_FUZZ_ALLOW_KNOWN=1 relaxes
// the invariants of open findings listed in docs/reliability.md by hand). --known: only replay the minimised
// inputs of open findings (native/fuzz/known/<target>/) strictly and say which still reproduce.
// Prints executions and crashes per target; exits non-zero on any crash.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { cpus } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const build = join(root, 'build-fuzz')
const fuzzDir = join(root, 'native', 'fuzz')

const args = process.argv.slice(2)
const ci = args.includes('--ci')
const known = args.includes('--known')
let seconds = ci ? 20 : 300
const si = args.indexOf('--seconds')
if (si >= 0) seconds = Number(args[si + 1])
const named = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--seconds')

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', ...opts })
  if (r.error) throw r.error
  return r
}

if (run('clang++', ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.error('fuzz: clang++ is required (Debian: apt-get install -y clang)')
  process.exit(1)
}
const configure = run(
  'cmake',
  [
    '-S',
    root,
    '-B',
    build,
    '-DCMAKE_CXX_COMPILER=clang++',
    '-DCMAKE_BUILD_TYPE=RelWithDebInfo',
    '-DSIMSAGE_FUZZ=ON',
    '-DSIMSAGE_TESTS=OFF',
    '-DSIMSAGE_CUDA=off',
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
)
if (configure.status !== 0) process.exit(configure.status ?? 1)
const made = run('cmake', ['--build', build, '--parallel', String(cpus().length)], { stdio: 'inherit' })
if (made.status !== 0) process.exit(made.status ?? 1)

const all = readdirSync(fuzzDir)
  .filter((f) => /^fuzz_.*\.cpp$/.test(f))
  .map((f) => basename(f, '.cpp'))
  .sort()
const targets = named.length ? named : all
const files = (dir) => (existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [])
const env = { ...process.env, SIMSAGE_FUZZ_ALLOW_KNOWN: process.env.SIMSAGE_FUZZ_ALLOW_KNOWN ?? '0' }

if (known) {
  let open = 0
  for (const t of targets) {
    for (const f of files(join(fuzzDir, 'known', t))) {
      const r = run(join(build, t), [f], { env: { ...process.env, SIMSAGE_FUZZ_ALLOW_KNOWN: '0' } })
      const why = /invariant failed: .*|ERROR: \w+Sanitizer: [\w-]+|runtime error: .*/.exec(r.stderr ?? '')
      console.log(`${r.status === 0 ? 'fixed     ' : 'reproduces'} ${t} ${basename(f)}${why ? `  (${why[0]})` : ''}`)
      if (r.status !== 0) open++
    }
  }
  console.log(`${open} open finding input(s); move fixed ones to native/fuzz/regressions/<target>/`)
  process.exit(0)
}

const rows = []
let failed = false
for (const t of targets) {
  const exe = join(build, t)
  const regressions = files(join(fuzzDir, 'regressions', t))
  if (regressions.length) {
    const r = run(exe, regressions, { env: { ...env, SIMSAGE_FUZZ_ALLOW_KNOWN: '0' }, stdio: 'inherit' })
    if (r.status !== 0) {
      console.error(`fuzz: ${t} fails on a regression input`)
      failed = true
      rows.push({ target: t, executions: 0, crashes: 1, corpus: 0 })
      continue
    }
  }
  const corpus = join(build, 'corpus', t)
  const artifacts = join(build, 'artifacts', t)
  mkdirSync(corpus, { recursive: true })
  mkdirSync(artifacts, { recursive: true })
  const seeds = join(fuzzDir, 'corpus', t)
  const argv = [
    `-max_total_time=${seconds}`,
    '-timeout=10',
    '-rss_limit_mb=2048',
    '-max_len=4096',
    '-print_final_stats=1',
    `-artifact_prefix=${artifacts}/`,
    corpus,
  ]
  if (existsSync(seeds)) argv.push(seeds)
  console.log(`fuzz: ${t} for ${seconds} s`)
  const r = run(exe, argv, { env, maxBuffer: 1 << 28 })
  const out = `${r.stdout}${r.stderr}`
  const execs = Number(/stat::number_of_executed_units: (\d+)/.exec(out)?.[1] ?? 0)
  const crashed = r.status !== 0
  if (crashed) {
    failed = true
    console.error(out.split('\n').slice(-60).join('\n'))
    console.error(`fuzz: ${t} crashed; the input is in ${artifacts}/ (replay: ${exe} <file>)`)
  }
  rows.push({ target: t, executions: execs, crashes: crashed ? 1 : 0, corpus: files(corpus).length })
}
console.table(rows)
process.exit(failed ? 1 : 0)
