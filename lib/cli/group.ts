/**
 * Shared by the command registrars.
 */
import type { Command } from 'commander'

/**
 * A group command (`train`, `eval`, `experiment`, ...) that several registrars add subcommands to:
 * the existing one, or a new one with `description`.
 */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description)
}
