#!/usr/bin/env node
// Sanitizer runs (docs/reliability.md), each in its own build folder with clang:
//
//   node scripts/sanitize.mjs asan   ASan+UBSan addon and C++ tests (build-asan/): ctest with leak
//                                    detection, then the tap suite against that addon
//                                    (SIMSAGE_ADDON_PATH, the ASan runtime preloaded into node)
//   node scripts/sanitize.mjs tsan   ThreadSanitizer C++ tests (build-tsan/): the thread pool, the
//                                    VectorStore reader/writer lock (native/tests/test_concurrency.cpp)
//   node scripts/sanitize.mjs leaks  LeakSanitizer over the C++ tests (build-asan/), then
//                                    scripts/leak-check.ts: the addon's create/add/search/error/
//                                    dispose paths in a loop, resident memory must stay flat
//
// Extra arguments after the mode go to tap (asan), e.g. a test file. Exits non-zero on any report.
import { spawnSync } from 'node:child_process'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const [mode, ...rest] = process.argv.slice(2)
const jobs = String(cpus().length)

function run(cmd, argv, env = {}) {
  console.log(
    `sanitize: ${
      Object.keys(env).length
        ? `${Object.entries(env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')} `
        : ''
    }${cmd} ${argv.join(' ')}`,
  )
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
  if (r.error) throw r.error
  if (r.status !== 0) {
    console.error(`sanitize: ${mode} failed (${cmd} exit ${r.status ?? r.signal})`)
    process.exit(r.status ?? 1)
  }
}

function clangFile(name) {
  const r = spawnSync('clang++', [`-print-file-name=${name}`], { encoding: 'utf8' })
  if (r.status !== 0) {
    console.error('sanitize: clang++ is required (Debian: apt-get install -y clang)')
    process.exit(1)
  }
  return r.stdout.trim()
}

// UBSan findings are fatal (-fno-sanitize-recover in CMakeLists.txt); print where they happen.
const UBSAN = 'print_stacktrace=1:halt_on_error=1'
const ASAN_CTEST = 'detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1'

function buildAsan() {
  clangFile('libclang_rt.asan-x86_64.so')
  const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js')
  run(process.execPath, [
    cmakeJs,
    'build',
    '--out',
    'build-asan',
    '--parallel',
    jobs,
    '--CDSIMSAGE_CUDA=off',
    '--CDSIMSAGE_SANITIZE=address,undefined',
    '--CDCMAKE_CXX_COMPILER=clang++',
    '--CDCMAKE_BUILD_TYPE=RelWithDebInfo',
  ])
}

function ctest(dir, env) {
  run('ctest', ['--test-dir', dir, '--output-on-failure', '--timeout', '600'], env)
}

if (mode === 'asan') {
  buildAsan()
  ctest('build-asan', { ASAN_OPTIONS: ASAN_CTEST, UBSAN_OPTIONS: UBSAN })
  // node itself is not instrumented: the runtime is preloaded, node's own allocations are not
  // leak-checked (detect_leaks=0), and V8's signal handlers stay in charge.
  run(join(root, 'node_modules', '.bin', 'tap'), rest, {
    SIMSAGE_ADDON_PATH: join(root, 'build-asan', 'Release', 'simsage.node'),
    LD_PRELOAD: clangFile('libclang_rt.asan-x86_64.so'),
    ASAN_OPTIONS: 'detect_leaks=0:allow_user_segv_handler=1:handle_segv=0:abort_on_error=1',
    UBSAN_OPTIONS: UBSAN,
  })
} else if (mode === 'tsan') {
  clangFile('libclang_rt.tsan-x86_64.a')
  run('cmake', [
    '-S',
    root,
    '-B',
    join(root, 'build-tsan'),
    '-DCMAKE_CXX_COMPILER=clang++',
    '-DCMAKE_BUILD_TYPE=RelWithDebInfo',
    '-DSIMSAGE_SANITIZE=thread',
    '-DSIMSAGE_CUDA=off',
  ])
  run('cmake', ['--build', join(root, 'build-tsan'), '--parallel', jobs])
  ctest('build-tsan', { TSAN_OPTIONS: 'halt_on_error=1:second_deadlock_stack=1' })
} else if (mode === 'leaks') {
  buildAsan()
  ctest('build-asan', { ASAN_OPTIONS: ASAN_CTEST, UBSAN_OPTIONS: UBSAN })
  run(process.execPath, ['--import', 'tsx', '--expose-gc', join(root, 'scripts', 'leak-check.ts'), ...rest])
} else {
  console.error('usage: node scripts/sanitize.mjs asan|tsan|leaks [tap arguments]')
  process.exit(2)
}
