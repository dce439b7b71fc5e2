import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from '@jest/globals';
import { CTL } from '../../activities/process/launch.ts';
import { OutputTail } from '../../activities/process/tail.ts';

// The tail reuses one read buffer for both streams and every read: a line must never show bytes of a
// later read, and a line split across reads comes out whole, once.
const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-tail-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('reads both streams line by line across reads, with partial lines completed by a later read', async () => {
  const out = path.join(dir, CTL.stdout);
  const err = path.join(dir, CTL.stderr);
  writeFileSync(out, 'first line\nsecond li');
  writeFileSync(err, 'an error\n');
  const tail = new OutputTail(dir, { stdout: 0, stderr: 0 }, (l) => l.replaceAll('hunter2', '***'));
  const first = await tail.read(64);
  expect(first.map((l) => [l.stream, l.line])).toEqual([['stdout', 'first line'], ['stderr', 'an error']]);

  appendFileSync(out, 'ne\nthird: hunter2\n');
  appendFileSync(err, 'x'.repeat(40) + '\n');
  const second = await tail.read(64);
  expect(second.map((l) => [l.stream, l.line])).toEqual([['stdout', 'second line'], ['stdout', 'third: ***'], ['stderr', 'x'.repeat(40)]]);
  // Lines read earlier are untouched by the reads after them.
  expect(first.map((l) => l.line)).toEqual(['first line', 'an error']);
  expect(tail.offsets).toEqual({ stdout: 'first line\nsecond line\nthird: hunter2\n'.length, stderr: 'an error\n'.length + 41 });

  appendFileSync(out, 'no newline at the end');
  expect(await tail.read(64)).toEqual([]);
  const last = await tail.read(64, true);
  expect(last.map((l) => l.line)).toEqual(['no newline at the end']);
  await tail.close();
});
