import type { NodeSSH } from 'node-ssh';

export type StreamEnd = { code: number | null; signal: string | null };

/**
 * Runs `command` on the connection, handing stdout and stderr to the callbacks as they arrive and
 * keeping none of it: a command's output can be far larger than a worker's memory (node-ssh's
 * execCommand also collects it into strings). Resolves when the channel closes.
 */
export function streamExec(ssh: NodeSSH, command: string, on: { stdout: (chunk: Buffer) => void; stderr: (chunk: Buffer) => void }): Promise<StreamEnd> {
  const connection = ssh.connection;
  if (!connection) return Promise.reject(new Error('not connected'));
  return new Promise((resolve, reject) => {
    connection.exec(command, (err, channel) => {
      if (err) return reject(err);
      let end: StreamEnd = { code: null, signal: null };
      channel.on('exit', (code: number | null, signal?: string) => {
        end = { code: typeof code === 'number' ? code : null, signal: signal ?? null };
      });
      channel.on('data', on.stdout);
      channel.stderr.on('data', on.stderr);
      channel.once('close', () => resolve(end));
      channel.once('error', reject);
    });
  });
}
