// Module boundaries: lib/ never imports bench/ (not even dynamically), and bench/ uses simsage only
// through the package entry ('simsage', 'simsage/internal'), like any user.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

import t from 'tap'

const root = join(import.meta.dirname, '..')

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : []
  })
}

/** Module specifiers of static imports/exports and dynamic import() calls (including `typeof import()`). */
function specifiers(source: string): string[] {
  const out: string[] = []
  for (const m of source.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) out.push(m[1])
  return out
}

t.test('lib/ never imports bench/', async (t) => {
  for (const file of tsFiles(join(root, 'lib'))) {
    const bad = specifiers(readFileSync(file, 'utf8')).filter(
      (s) => s.includes('bench/') || s === 'simsage' || s.startsWith('simsage/'),
    )
    t.same(bad, [], relative(root, file))
  }
})

t.test('bench/ imports simsage only through the package entry', async (t) => {
  for (const file of tsFiles(join(root, 'bench'))) {
    const bad = specifiers(readFileSync(file, 'utf8')).filter((s) => s.includes('lib/') || s.includes('/dist/'))
    t.same(bad, [], relative(root, file))
  }
})
