#!/usr/bin/env node
// Consumer smoke test (`npm run test:consumer`; CI runs it from .ci/run): installs simsage the way a
// user's project does and runs the README's examples there, verbatim.
//
//  1. `npm pack` in this repository (its `prepare` and `prepack` scripts build dist/ and the prebuilt
//     addon), unless --tarball <file> names one already made.
//  2. A fresh ES-module project in a temporary directory installs the tarball with a PATH holding only
//     node, npm and sh (no compiler, no CMake), preferring npm's cache (no download unless the cache
//     lacks a package). Install scripts run for simsage only: npm >= 11.16 installs with
//     --strict-allow-scripts and the project's allowScripts naming just the tarball; an older npm
//     installs with --ignore-scripts, then `npm rebuild simsage` runs simsage's script alone.
//  3. Checks that the install script used the prebuild and nothing was compiled (no build/ folder).
//  4. Runs every ```js block of the installed package's README.md as an .mjs file, then
//     require('simsage') from CommonJS, `simsage info`, and `simsage bench mining` with and without
//     --out (the report must not land in the project's directory unless asked).
// Prints the tarball size and the install time. Exit status 0 only when every step passed.
// Options: --tarball <file> (skip step 1), --keep (leave the temporary directory).
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const keep = args.includes('--keep')
const tarballArg = args.includes('--tarball') ? args[args.indexOf('--tarball') + 1] : undefined

const tmp = realpathSync(mkdtempSync(join(os.tmpdir(), 'simsage-consumer-')))
const app = join(tmp, 'app')
const bin = join(tmp, 'bin')
const failures = []
const timings = []

function log(msg) {
  console.log(`consumer-smoke: ${msg}`)
}

function check(ok, what, detail = '') {
  if (ok) log(`ok - ${what}`)
  else {
    failures.push(what)
    log(`FAIL - ${what}${detail ? `\n${detail}` : ''}`)
  }
  return ok
}

/** Finds an executable on the current PATH. */
function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, cmd)
    if (dir && existsSync(p)) return p
  }
  return undefined
}

/** The environment of the consumer's commands: PATH = node, npm and sh only; no npm_* from a parent npm. */
function consumerEnv(extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && !k.startsWith('SIMSAGE_')) env[k] = v
  return { ...env, PATH: bin, ...extra }
}

/** Runs a command, timed; returns spawnSync's result with `seconds`. */
function run(cmd, cmdArgs, opts = {}) {
  const started = process.hrtime.bigint()
  const r = spawnSync(cmd, cmdArgs, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000, ...opts })
  r.seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (r.error) r.stderr = `${r.stderr ?? ''}\n${r.error.message}`
  return r
}

const tail = (r) => `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n')

try {
  // 1. The tarball.
  let tarball
  if (tarballArg) {
    tarball = resolve(tarballArg)
  } else {
    log('npm pack (prepare: tsc; prepack: the prebuilt addon)')
    const npm =
      process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath) ? process.env.npm_execpath : 'npm'
    const packArgs = ['pack', '--pack-destination', tmp, '--json']
    const r =
      npm === 'npm' ? run('npm', packArgs, { cwd: root }) : run(process.execPath, [npm, ...packArgs], { cwd: root })
    timings.push(['npm pack (incl. prebuild)', r.seconds])
    if (!check(r.status === 0, 'npm pack', tail(r))) throw new Error('npm pack failed')
    // Lifecycle scripts print to stdout too: the JSON report is the last top-level array.
    const at = r.stdout.lastIndexOf('\n[\n')
    const report = JSON.parse(at >= 0 ? r.stdout.slice(at + 1) : r.stdout)[0]
    tarball = join(tmp, report.filename)
    log(`tarball ${report.filename}: ${report.entryCount} files, unpacked ${(report.unpackedSize / 1e6).toFixed(2)} MB`)
  }
  const tarballBytes = statSync(tarball).size
  log(`tarball size ${tarballBytes} bytes (${(tarballBytes / 2 ** 20).toFixed(2)} MiB)`)

  // 2. A PATH with node, npm and sh only.
  mkdirSync(bin)
  const npmCli = realpathSync(which('npm') ?? '')
  symlinkSync(realpathSync(process.execPath), join(bin, 'node'))
  symlinkSync(npmCli, join(bin, 'npm'))
  symlinkSync(realpathSync('/bin/sh'), join(bin, 'sh'))
  for (const tool of ['cc', 'c++', 'gcc', 'g++', 'clang', 'clang++', 'cmake', 'make', 'ninja', 'nvcc']) {
    const r = spawnSync(tool, ['--version'], { env: consumerEnv(), stdio: 'ignore' })
    if (r.error?.code !== 'ENOENT') throw new Error(`${tool} is reachable from the consumer's PATH`)
  }
  log(`consumer PATH holds only node, npm and sh (${bin}); no compiler, CMake or nvcc reachable`)

  const npmVersion = run(process.execPath, [npmCli, '--version'], { env: consumerEnv() }).stdout.trim()
  const [major, minor] = npmVersion.split('.').map(Number)
  const strict = major > 11 || (major === 11 && minor >= 16)
  mkdirSync(app)
  const pkg = { name: 'simsage-consumer-smoke', version: '1.0.0', private: true, type: 'module' }
  if (strict) pkg.allowScripts = { [`file:${tarball}`]: true }
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)

  const common = ['--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts']
  let install
  if (strict) {
    log(`npm ${npmVersion}: npm install <tarball> --strict-allow-scripts (allowScripts: the tarball only)`)
    install = run(process.execPath, [npmCli, 'install', tarball, '--strict-allow-scripts', ...common], {
      cwd: app,
      env: consumerEnv(),
    })
  } else {
    log(`npm ${npmVersion}: npm install <tarball> --ignore-scripts, then npm rebuild simsage`)
    install = run(process.execPath, [npmCli, 'install', tarball, '--ignore-scripts', ...common], {
      cwd: app,
      env: consumerEnv(),
    })
    if (install.status === 0) {
      const rebuild = run(process.execPath, [npmCli, 'rebuild', 'simsage', '--foreground-scripts'], {
        cwd: app,
        env: consumerEnv(),
      })
      install = { ...rebuild, stdout: install.stdout + rebuild.stdout, seconds: install.seconds + rebuild.seconds }
    }
  }
  timings.push(['npm install', install.seconds])
  log(`install took ${install.seconds.toFixed(1)} s`)
  if (!check(install.status === 0, 'npm install of the tarball with no compiler on the PATH', tail(install)))
    throw new Error('install failed')

  // 3. The prebuild was used; nothing compiled.
  const installed = join(app, 'node_modules', 'simsage')
  const tuple = `${process.platform}-${process.arch}`
  const prebuilds = existsSync(join(installed, 'prebuilds', tuple))
    ? readdirSync(join(installed, 'prebuilds', tuple))
    : []
  check(prebuilds.length > 0, `the package carries a prebuild for ${tuple} (${prebuilds.join(', ') || 'none'})`)
  check(
    new RegExp(`simsage: using prebuilds/${tuple}/`).test(install.stdout),
    'the install script used the prebuild',
    tail(install),
  )
  check(!existsSync(join(installed, 'build')), 'nothing was compiled (no node_modules/simsage/build)')
  for (const dev of ['onnxruntime-node', 'usearch', 'hnswlib-node', '@tensorflow/tfjs', 'tap']) {
    check(!existsSync(join(app, 'node_modules', dev)), `${dev} is not installed in the consumer`)
  }

  // 4. The README's examples, verbatim.
  const readme = readFileSync(join(installed, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1])
  check(blocks.length >= 2, `README.md has ${blocks.length} js examples`)
  blocks.forEach((code, i) => {
    const file = `readme-example-${i + 1}.mjs`
    writeFileSync(join(app, file), code)
    const r = run(process.execPath, [file], { cwd: app, env: consumerEnv() })
    timings.push([file, r.seconds])
    check(r.status === 0, `README example ${i + 1} (${code.split('\n')[0]}) runs in ${r.seconds.toFixed(1)} s`, tail(r))
    // An example that states its printed ids (`console.log(...) // { ids: Float64Array [10, 20], ...`)
    // must print them.
    for (const m of code.matchAll(/console\.log\(.*\/\/ \{ ids: Float64Array \[([\d, ]+)\]/g)) {
      const ids = m[1].split(',').map((x) => x.trim())
      check(r.stdout.includes(`[ ${ids.join(', ')} ]`), `README example ${i + 1} prints the ids it states`, tail(r))
    }
  })

  // CommonJS: require() where Node can require ES modules, a coded error where it cannot.
  writeFileSync(
    join(app, 'require.cjs'),
    "const s = require('simsage'); const i = require('simsage/internal');\n" +
      'console.log(typeof s.EmbeddingIndex, typeof i.probeFmaPeak, s.info().simd)\n',
  )
  writeFileSync(
    join(app, 'require-old.cjs'),
    "try { require('simsage'); console.log('loaded') } catch (e) { console.log(e.code, e.message) }\n",
  )
  const canRequireEsm = process.features.require_module === true
  const req = run(process.execPath, ['require.cjs'], { cwd: app, env: consumerEnv() })
  if (canRequireEsm) check(/^function function \w+/.test(req.stdout), "require('simsage') works", tail(req))
  const noReqFlag = '--no-experimental-require-module'
  if (!canRequireEsm || process.allowedNodeEnvironmentFlags.has(noReqFlag)) {
    const flags = canRequireEsm ? [noReqFlag] : []
    const old = run(process.execPath, [...flags, 'require-old.cjs'], { cwd: app, env: consumerEnv() })
    check(
      /^ERR_SIMSAGE_UNSUPPORTED .*import/.test(old.stdout),
      `require('simsage') without require(esm) throws ERR_SIMSAGE_UNSUPPORTED saying to use import`,
      tail(old),
    )
  }

  // The CLI from the installed package; bench reports go where asked or to a named temporary folder.
  const cli = join(app, 'node_modules', '.bin', 'simsage')
  const info = run(cli, ['info'], { cwd: app, env: consumerEnv() })
  check(info.status === 0 && /"simd"/.test(info.stdout), 'simsage info', tail(info))
  const benchArgs = ['bench', 'mining', '--sizes', '64', '--dim', '8', '--budget', '0.01', '--tools', 'simsage,plain']
  const b1 = run(cli, benchArgs, { cwd: app, env: consumerEnv() })
  const written = /report written to (.+)$/m.exec(b1.stderr)?.[1]
  check(
    b1.status === 0 && written !== undefined && written.startsWith(join(os.tmpdir(), 'simsage-bench')),
    `simsage bench without --out names its report in the temporary directory (${written})`,
    tail(b1),
  )
  if (written?.startsWith(join(os.tmpdir(), 'simsage-bench'))) rmSync(written, { force: true })
  check(!existsSync(join(app, 'bench')), 'simsage bench wrote nothing into the current directory')
  const b2 = run(cli, [...benchArgs, '--out', 'reports'], { cwd: app, env: consumerEnv() })
  const inReports = existsSync(join(app, 'reports')) ? readdirSync(join(app, 'reports')) : []
  check(
    b2.status === 0 && inReports.length === 1 && /^mining-.*\.json$/.test(inReports[0]),
    `simsage bench --out reports writes reports/${inReports[0]}`,
    tail(b2),
  )

  log(`timings: ${timings.map(([what, s]) => `${what} ${s.toFixed(1)} s`).join(', ')}`)
  log(`tarball ${tarballBytes} bytes, install ${install.seconds.toFixed(1)} s`)
} catch (e) {
  failures.push(e.message)
  log(`FAIL - ${e.message}`)
} finally {
  if (keep) log(`kept ${tmp}`)
  else rmSync(tmp, { recursive: true, force: true })
}

if (failures.length > 0) {
  log(`${failures.length} failure(s): ${failures.join('; ')}`)
  process.exit(1)
}
log('all checks passed')
