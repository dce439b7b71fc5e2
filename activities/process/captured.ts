import { execFile } from 'node:child_process';
import { dropPrivileges, type Sandbox } from './sandbox.ts';

/**
 * A short, read-only command whose stdout is data rather than a log (`terraform show -json`): run as
 * the sandbox user, its output kept in memory, and stopped with the activity. It needs no durability:
 * running it again is harmless.
 */
export function runCaptured(opts: {
  bin: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  sandbox: Sandbox;
  signal: AbortSignal;
}): Promise<{ code: number; stdout: string; stderr: string }> {
  const prefix = dropPrivileges(opts.sandbox);
  const [file, ...args] = prefix.length ? [...prefix, opts.bin, ...opts.args] : [opts.bin, ...opts.args];
  return new Promise((resolve, reject) => {
    execFile(file!, args, { cwd: opts.cwd, env: opts.env, signal: opts.signal, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(err);
      resolve({ code: err ? Number((err as { code: number }).code) : 0, stdout, stderr });
    });
  });
}
