// `simsage serve` argument errors: each exits 1 with a one-line message before serving anything.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { simsage } from '../fixtures/cli.js'
import { writeArtifacts } from '../fixtures/serve.js'

t.test('serve: bad arguments exit 1 with a message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'simsage-serve-cli-'))
  const files = await writeArtifacts(dir)
  const cases: [string[], RegExp][] = [
    [['serve'], /give --index/],
    [['serve', '--index', files.index, '--port', '70000'], /--port.*integer in \[0, 65535\]/],
    [['serve', '--index', files.index, '--max-k', '0'], /--max-k/],
    [['serve', '--index', join(dir, 'missing.simsage'), '--port', '0'], /missing\.simsage/],
    [
      ['serve', '--index', files.index, '--model', dir, '--port', '0'],
      /holds none of tower\.safetensors, hiertcn\.safetensors, searchsage\.safetensors/,
    ],
    [['serve', '--index', files.model, '--port', '0'], /model/],
    [['serve', '--shards', 'http://127.0.0.1:1', '--index', files.index], /--shards runs a router/],
    [['serve', '--shards', 'ftp://x'], /--shards.*Bad URL/],
  ]
  for (const [args, message] of cases) {
    const r = simsage(args, 60_000)
    t.equal(r.status, 1, `${args.join(' ')}: exit 1`)
    t.match(r.stderr, message, `${args.join(' ')}: message`)
  }
})
