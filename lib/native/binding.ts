/**
 * Loads the native addon (internal). The file is found by `node-gyp-build`, in this order:
 * `build/Release/*.node` (a build from source: `npm run build:native`, or an install that had to
 * compile), `build/Debug/*.node`, then the prebuilt binary matching this platform, architecture and
 * libc in `prebuilds/<platform>-<arch>/` (N-API, e.g. `prebuilds/linux-x64/simsage.napi.glibc.node`).
 * SIMSAGE_ADDON_PATH names a `.node` file to load instead.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { ErrorCodes, SimsageError } from '../errors.js'
import type { RawBinding } from './types.js'

const require = createRequire(import.meta.url)

/** The package root: the nearest ancestor holding simsage's package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pj = join(dir, 'package.json')
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'simsage') return dir
      } catch {
        // keep looking
      }
    }
    const up = dirname(dir)
    if (up === dir) throw new SimsageError(ErrorCodes.ADDON_NOT_LOADED, 'cannot find the simsage package root')
    dir = up
  }
}

/** What to run to get an addon, for the error messages. */
const HOW_TO_BUILD =
  'reinstall simsage (the install script uses the prebuilt binary when one matches, and builds from ' +
  'source otherwise: CMake >= 3.19 or node-gyp, and a C++17 compiler), or build it now with ' +
  '`SIMSAGE_BUILD_FROM_SOURCE=1 npm rebuild simsage` (in the simsage repository: `npm run build:native`)'

/**
 * The path of the addon this process would load: SIMSAGE_ADDON_PATH, else node-gyp-build's choice
 * (a build from source first, then the matching prebuild).
 */
export function addonPath(): string {
  const override = process.env.SIMSAGE_ADDON_PATH
  if (override) {
    if (!existsSync(override)) {
      throw new SimsageError(ErrorCodes.ADDON_NOT_LOADED, `SIMSAGE_ADDON_PATH names ${override}, which does not exist`)
    }
    return override
  }
  const root = packageRoot()
  let resolveAddon: (dir: string) => string
  try {
    resolveAddon = (require('node-gyp-build') as { resolve: (dir: string) => string }).resolve
  } catch (e) {
    throw new SimsageError(
      ErrorCodes.ADDON_NOT_LOADED,
      `cannot load node-gyp-build (a dependency of simsage) to find the native addon: ${(e as Error).message}`,
      { cause: e },
    )
  }
  try {
    return resolveAddon(root)
  } catch (e) {
    const why = (e as Error).message.split('\n')[0]
    throw new SimsageError(
      ErrorCodes.ADDON_NOT_LOADED,
      `the native addon is not built and no prebuilt binary matches this machine (${why}; looked in ` +
        `${join(root, 'build', 'Release')} and ${join(root, 'prebuilds')}): ${HOW_TO_BUILD}`,
      { cause: e },
    )
  }
}

let cached: RawBinding | undefined

/** The raw binding; loads it on first use. */
export function binding(): RawBinding {
  if (cached) return cached
  const path = addonPath()
  try {
    cached = require(path) as RawBinding
  } catch (e) {
    throw new SimsageError(
      ErrorCodes.ADDON_NOT_LOADED,
      `failed to load the native addon ${path}: ${(e as Error).message.split('\n')[0]}; ${HOW_TO_BUILD}`,
      { cause: e },
    )
  }
  return cached
}
