/**
 * Loads the native addon (internal). Looks for build/Release/simsage.node in the package root;
 * SIMSAGE_ADDON_PATH overrides the path.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { ErrorCodes, SimsageError } from '../errors.js'
import type { RawBinding } from './types.js'

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

let cached: RawBinding | undefined

/** The raw binding; loads it on first use. */
export function binding(): RawBinding {
  if (cached) return cached
  const path = process.env.SIMSAGE_ADDON_PATH ?? join(packageRoot(), 'build', 'Release', 'simsage.node')
  if (!existsSync(path)) {
    throw new SimsageError(
      ErrorCodes.ADDON_NOT_LOADED,
      `the native addon is not built (${path} is missing): run \`npm install\` or \`npm run build:native\``,
    )
  }
  try {
    cached = createRequire(import.meta.url)(path) as RawBinding
  } catch (e) {
    throw new SimsageError(ErrorCodes.ADDON_NOT_LOADED, `failed to load ${path}: ${(e as Error).message}`, { cause: e })
  }
  return cached
}
