// Option values of the `simsage` commands, in child processes: an unknown, empty or out-of-range
// value exits non-zero before any work, with one message style (commander's "option ... argument
// ... is invalid"), and help advertises only commands that exist.
import t from 'tap'

import { simsage } from '../fixtures/cli.js'

/** Commander's style for a rejected option value, naming the option. */
const invalid = (option: string) => new RegExp(`^error: option '${option} <\\w+>' argument '.*' is invalid\\. .+`, 'm')

t.test('bad option values exit non-zero with one message style, before any work', async (t) => {
  const cases: [string[], string, RegExp?][] = [
    [['experiment', 'ranking', '--models', 'foo'], '--models', /Unknown model "foo"/],
    [['experiment', 'ranking', '--models', ''], '--models', /empty/],
    [['experiment', 'ranking', '--models', 'semi-hard,,'], '--models'],
    [['experiment', 'ranking', '--train-classes', '99'], '--train-classes', /0 to 9/],
    [['experiment', 'ranking', '--train-classes', ''], '--train-classes', /empty/],
    [['experiment', 'ranking', '--train-classes', '0,1,2,3,4,5,6,7,8,9'], '--train-classes', /held out/],
    [['experiment', 'ranking', '--train-classes', '1.5'], '--train-classes'],
    [['experiment', 'ranking', '--hidden', '0'], '--hidden', /positive integers/],
    [['experiment', 'ranking', '--hidden', 'x'], '--hidden'],
    [['experiment', 'ranking', '--epochs', '1.5'], '--epochs', /integer/],
    [['experiment', 'ranking', '--epochs', '0'], '--epochs', /integer/],
    [['experiment', 'ranking', '--batch-size', '2'], '--batch-size'],
    [['experiment', 'ranking', '--embedding-dim', '-1'], '--embedding-dim'],
    [['experiment', 'ranking', '--lr', 'abc'], '--lr'],
    [['experiment', 'ranking', '--seed', '-1'], '--seed'],
    [['train', 'ranking', '--out', 'x.safetensors', '--method', 'foo'], '--method', /semi-hard/],
    [['train', 'ranking', '--out', 'x.safetensors', '--hidden', '0'], '--hidden'],
  ]
  for (const [args, option, reason] of cases) {
    const r = simsage(args, 60_000)
    const what = args.join(' ')
    t.not(r.status, 0, `${what}: exits non-zero (${r.status})`)
    t.match(r.stderr, invalid(option), `${what}: ${r.stderr.trim()}`)
    if (reason) t.match(r.stderr, reason, `${what}: says why`)
    t.notMatch(r.stdout, /R@1/, `${what}: no table printed`)
  }
})

t.test('help lists what exists and describes the options as they are checked', async (t) => {
  const help = simsage(['--help'])
  t.equal(help.status, 0, help.stderr)
  t.notMatch(help.stdout, /OmniSearchSage/, 'no command advertised that does not exist')
  const hier = simsage(['experiment', 'hiertcn', '--help'])
  t.equal(hier.status, 0, 'the advertised HierTCN task exists')
  const exp = simsage(['experiment', 'ranking', '--help'])
  t.match(exp.stdout, /--hidden <list>\s+comma-separated positive hidden layer widths/, '--hidden says positive')
  t.match(exp.stdout, /--train-classes <list>\s+.*0-9/s, '--train-classes says which classes')
  const train = simsage(['train', 'ranking', '--help'])
  t.match(train.stdout, /choices: "batch-all"/, '--method lists its choices')
})
