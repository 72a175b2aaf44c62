/**
 * The README's shell commands, read from README.md itself so that a test runs them as written: a
 * command edited (or broken) in the README is the command the test runs.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/** The README commands a newcomer runs first, each exactly as the README writes it. */
export interface ReadmeCommands {
  readonly install: string;
  readonly help: string;
  readonly start: string;
  readonly curl: string;
  readonly stream: string;
  readonly doctor: string;
}

/** Which line of the README's `sh` blocks is which command. */
const PICKS: Record<keyof ReadmeCommands, RegExp> = {
  install: /^npm install(\s|$)/,
  help: /^npx streamwell --help(\s|$)/,
  start: /^npm start(\s|$)/,
  curl: /^curl -N\s/,
  stream: /^npx streamwell stream\s/,
  doctor: /^npx streamwell doctor http/,
};

/**
 * The commands of every ```` ```sh ```` block, one per entry: a line ending in `\` continues on
 * the next line, as in a shell.
 *
 * @param markdown - the README's text
 * @returns the commands in order, each as one line
 */
export function shellCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    let pending = '';
    for (const line of (block[1] ?? '').split('\n')) {
      if (line.endsWith('\\')) {
        pending += `${line.slice(0, -1).trimEnd()} `;
        continue;
      }
      const command = `${pending}${line.trim()}`.trim();
      pending = '';
      if (command !== '' && !command.startsWith('#')) commands.push(command);
    }
  }
  return commands;
}

/**
 * Picks the newcomer's commands out of the README.
 *
 * @param readmePath - README.md
 * @returns each command as written
 * @throws Error naming the command the README no longer has
 */
export function readReadmeCommands(readmePath: string): ReadmeCommands {
  const commands = shellCommands(readFileSync(readmePath, 'utf8'));
  const pick = (name: keyof ReadmeCommands): string => {
    const found = commands.find((command) => PICKS[name].test(command));
    if (found === undefined) throw new Error(`README.md has no \`sh\` command matching ${PICKS[name]} (${name})`);
    return found;
  };
  return {
    install: pick('install'),
    help: pick('help'),
    start: pick('start'),
    curl: pick('curl'),
    stream: pick('stream'),
    doctor: pick('doctor'),
  };
}

/**
 * Points a command at another port of the local server: the README's commands name port 8000,
 * which a test cannot count on being free.
 *
 * @param command - a README command
 * @param port - the port the test's server listens on
 * @returns the command with every `127.0.0.1:8000` / `localhost:8000` moved to `port`
 */
export function onPort(command: string, port: number): string {
  return command.replace(/\b(127\.0\.0\.1|localhost):8000\b/g, `127.0.0.1:${port}`);
}
