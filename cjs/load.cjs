// CommonJS entry points of simsage (the `require` condition of package.json "exports"). simsage is
// an ES module package; Node.js >= 20.19 and >= 22.12 can require() ES modules, so these files hand
// back the ES module namespace (the same module instance `import` gets). An older Node.js cannot:
// there `require('simsage')` throws a SimsageError-shaped error (code ERR_SIMSAGE_UNSUPPORTED) that
// says to use `import`.
'use strict'

/**
 * Requires the ES module `file` (relative to the package root) or throws the explanation.
 * @param {string} file
 * @param {string} specifier
 */
function loadEsm(file, specifier) {
  try {
    return require(file)
  } catch (e) {
    const code = e && typeof e === 'object' ? e.code : undefined
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e
    const err = new Error(
      `${specifier} is an ES module package and Node.js ${process.version} cannot require() it: ` +
        `use \`import { ... } from '${specifier}'\` in an ES module (.mjs, or "type": "module"), or ` +
        `\`const simsage = await import('${specifier}')\` from CommonJS. Node.js >= 20.19 or >= 22.12 ` +
        'can also require() it.',
      { cause: e },
    )
    err.name = 'SimsageError'
    err.code = 'ERR_SIMSAGE_UNSUPPORTED'
    throw err
  }
}

module.exports = { loadEsm }
