// Installing simsage as a dependency (issue 9), the parts that need no `npm pack`: the addon's
// resolution and its errors, the shipped data path, the CommonJS entry's error on a Node without
// require(esm), bench reports never written relative to the current directory, and the package's
// `files`/`exports`. The whole install is checked by scripts/consumer-smoke.mjs (npm run test:consumer).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { reportPath } from '../bench/report.js'
import { fashionMnistSmallPath, loadFashionMnist } from '../lib/index.js'
import { addonPath } from '../lib/native/binding.js'
import { throwsCode } from './fixtures/assert.js'

const root = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

t.test('fashionMnistSmallPath is the shipped subset, absolute', async (t) => {
  t.equal(fashionMnistSmallPath, join(root, 'data', 'fashion-mnist-small'))
  const test = await loadFashionMnist(fashionMnistSmallPath, 'test')
  t.equal(test.n, 1000, '1,000 test images')
  t.equal(test.dim, 784)
})

t.test('the addon path: node-gyp-build order, SIMSAGE_ADDON_PATH override, coded errors', async (t) => {
  const saved = process.env.SIMSAGE_ADDON_PATH
  t.teardown(() => {
    if (saved === undefined) delete process.env.SIMSAGE_ADDON_PATH
    else process.env.SIMSAGE_ADDON_PATH = saved
  })
  delete process.env.SIMSAGE_ADDON_PATH
  const found = addonPath()
  const built = join(root, 'build', 'Release', 'simsage.node')
  if (existsSync(built)) t.equal(found, built, 'a build from source comes first')
  else t.match(found, /prebuilds[/\\][a-z0-9]+-[a-z0-9]+[/\\]simsage\.napi/, 'else the prebuild')
  process.env.SIMSAGE_ADDON_PATH = join(os.tmpdir(), 'no-such-dir', 'simsage.node')
  throwsCode(t, () => addonPath(), 'ERR_SIMSAGE_ADDON_NOT_LOADED', 'SIMSAGE_ADDON_PATH naming a missing file')
})

t.test('a package with neither a build nor a prebuild says how to get one', async (t) => {
  // A copy of the package root without build/ or prebuilds/: the resolution runs in a child process
  // whose SIMSAGE_PREBUILD (node-gyp-build's per-package override) points at an empty directory.
  const empty = t.testdir({ 'package.json': '{"name":"simsage"}' })
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "import('./lib/native/binding.ts').then((b) => { try { b.addonPath() } catch (e) { console.log(e.code + ' ' + e.message) } })",
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env, SIMSAGE_PREBUILD: empty, SIMSAGE_ADDON_PATH: '' } },
  )
  t.equal(r.status, 0, r.stderr)
  t.match(
    r.stdout,
    /^ERR_SIMSAGE_ADDON_NOT_LOADED .*no prebuilt binary matches.*SIMSAGE_BUILD_FROM_SOURCE=1 npm rebuild simsage/,
  )
})

t.test('require() without require(esm) throws ERR_SIMSAGE_UNSUPPORTED saying to use import', async (t) => {
  const flag = '--no-experimental-require-module'
  if (!process.allowedNodeEnvironmentFlags.has(flag)) return t.skip(`this Node.js has no ${flag}`)
  if (!existsSync(join(root, 'dist', 'lib', 'index.js'))) return t.skip('dist/ not built (npm run build:ts)')
  const r = spawnSync(
    process.execPath,
    [flag, '-e', "try { require('./cjs/index.cjs') } catch (e) { console.log(e.name, e.code, e.message) }"],
    { cwd: root, encoding: 'utf8' },
  )
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /^SimsageError ERR_SIMSAGE_UNSUPPORTED .*import/)
})

t.test('bench reports: --out file or directory; by default never the current directory', async (t) => {
  const report = { bench: 'mining', date: '2026-12-02T10:11:12.345Z' }
  const name = 'mining-2026-12-02T10-11-12-345Z.json'
  t.equal(reportPath(report, 'x/r.json'), join(process.cwd(), 'x', 'r.json'), 'a .json path is the file')
  t.equal(reportPath(report, 'reports'), join(process.cwd(), 'reports', name), 'another path is a directory')
  const dflt = reportPath(report)
  if (existsSync(join(root, 'bench', 'results'))) {
    t.equal(dflt, join(root, 'bench', 'results', name), "in a clone: the repository's bench/results/")
  } else t.equal(dflt, join(os.tmpdir(), 'simsage-bench', name), 'installed: the temporary directory')
})

t.test('package.json: exports, files and dependencies fit an install without a compiler', async (t) => {
  t.equal(pkg.exports['.'].require, './cjs/index.cjs')
  t.equal(pkg.exports['./internal'].require, './cjs/internal.cjs')
  for (const f of ['dist/', 'cjs/', 'prebuilds/', 'data/fashion-mnist-small/', 'native/', 'CMakeLists.txt'])
    t.ok(pkg.files.includes(f), `files has ${f}`)
  t.ok(pkg.files.includes('scripts/build-native.mjs'), 'files has the install script')
  t.ok(pkg.dependencies['node-gyp-build'], 'node-gyp-build is a dependency (the loader)')
  for (const dev of ['onnxruntime-node', 'usearch', 'hnswlib-node', '@tensorflow/tfjs']) {
    t.notOk(pkg.dependencies[dev], `${dev} is not a dependency`)
  }
  t.ok(pkg.dependencies.protobufjs, 'protobufjs is a dependency (ONNX export, pure JavaScript)')
  t.notOk(pkg.dependencies['onnx-proto'], 'onnx-proto is not a dependency (its protobufjs 6 has an install script)')
  t.ok(pkg.peerDependenciesMeta?.['onnxruntime-node']?.optional, 'onnxruntime-node is an optional peer (OnnxEncoder)')
  t.match(pkg.scripts.install, /build-native\.mjs$/)
  t.match(pkg.scripts.prepack, /prebuild\.mjs$/)
  const cjs = readdirSync(join(root, 'cjs')).sort()
  t.same(cjs, ['index.cjs', 'internal.cjs', 'load.cjs'])
})

t.test('no package simsage installs runs an install script of its own (npm 11 strict-allow-scripts)', async (t) => {
  // A consumer on --strict-allow-scripts must approve every dependency with an install script:
  // simsage's production tree should need only simsage's own approval.
  const r = spawnSync('npm', ['ls', '--omit=dev', '--omit=peer', '--all', '--parseable'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  })
  const dirs = r.stdout.split('\n').filter((d) => d && d !== root)
  t.ok(dirs.length > 10, `${dirs.length} production packages (npm ls status ${r.status})`)
  const withScripts = dirs.filter((d) => {
    const p = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8'))
    return ['preinstall', 'install', 'postinstall'].some((s) => p.scripts?.[s]) || existsSync(join(d, 'binding.gyp'))
  })
  t.same(withScripts, [], 'none has preinstall/install/postinstall or a binding.gyp')
})
