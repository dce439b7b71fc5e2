// `npm run bench`: every benchmark in turn, each in its own process (each starts and stops its own
// peers). `npm run bench -- --markdown` prints their tables as markdown and writes them into the
// README between its `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` markers, so the figures there
// are always a run of the code as it is. Exits non-zero if a benchmark fails.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MARKDOWN, replaceMarkedBlock } from './stats.ts';

const BENCHES = ['http', 'api-tokens', 'live-events', 'run-start', 'log-viewer', 'ansible', 'ssh-command', 'alerts', 'deploy-docker', 'cost-scan', 'health-scan'] as const;
const root = fileURLToPath(new URL('..', import.meta.url));
const readme = `${root}README.md`;

function run(name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${root}bench/${name}.ts`, ...(MARKDOWN ? ['--markdown'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`bench/${name}.ts exited ${code}`))));
  });
}

const results: Record<string, string> = {};
for (const name of BENCHES) results[name] = await run(name);
if (MARKDOWN) {
  const stamp = `<sub>Measured by \`npm run bench -- --markdown\` on ${new Date().toISOString().slice(0, 10)}.</sub>`;
  let text = readFileSync(readme, 'utf8');
  for (const name of BENCHES) text = replaceMarkedBlock(text, `bench:${name}`, `${results[name]}\n\n${stamp}`);
  writeFileSync(readme, text);
  console.log('README.md: benchmark tables updated');
}
