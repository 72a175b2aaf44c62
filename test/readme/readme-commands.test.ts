/**
 * The fresh-clone test runs the README's commands as the README writes them; this checks, with no
 * network, that the README still has each of them and that they are read as a shell reads them.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { onPort, readReadmeCommands, shellCommands } from './readme-commands.ts';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

describe("the README's commands", () => {
  it('reads `sh` blocks only, joins continued lines and drops comment lines', () => {
    const markdown = [
      '```ts',
      'npm install',
      '```',
      '```sh',
      '# a comment',
      'npx streamwell doctor http://127.0.0.1:8000/x -m "Hi" \\',
      '  --origin http://127.0.0.1:8000',
      'npm start   # builds',
      '```',
    ].join('\n');
    expect(shellCommands(markdown)).toEqual([
      'npx streamwell doctor http://127.0.0.1:8000/x -m "Hi" --origin http://127.0.0.1:8000',
      'npm start   # builds',
    ]);
  });

  it('has every command a newcomer runs first, against the documented port', () => {
    const commands = readReadmeCommands(README);
    expect(commands.install).toMatch(/^npm install/);
    expect(commands.help).toMatch(/^npx streamwell --help/);
    expect(commands.start).toMatch(/^npm start/);
    for (const line of [commands.curl, commands.stream, commands.doctor]) {
      expect(line).toContain('http://127.0.0.1:8000/api/stream/message');
      expect(onPort(line, 41234)).toContain('http://127.0.0.1:41234/api/stream/message');
    }
    expect(commands.doctor).toMatch(/ -m /);
  });
});
