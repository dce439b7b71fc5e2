/**
 * The shell the worker sends to a host. A command runs there detached from the SSH session, under a
 * wrapper that records its pid and exit code next to its output files in `~/.opssight/<launch id>/`,
 * so that it survives the worker (and the connection) and any later attempt can pick up its output
 * from a byte offset. Everything runs under `/bin/sh -c`, whatever the user's login shell is.
 * Needs on the host: a POSIX sh, setsid (util-linux) and GNU tail (`--pid`, `-s`).
 */

/** One argument for sh, single-quoted. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export const remoteDir = (launchId: string) => `.opssight/${launchId}`;

// Traps INT/TERM/HUP only to outlive them: the command, in the same process group, gets the signal and
// decides how to stop, and the wrapper still writes its exit code. Only KILL leaves no code behind.
const WRAPPER = [
  'ctl=$(pwd)',
  'echo $$ > pid.tmp && mv pid.tmp pid',
  'trap : INT TERM HUP',
  // The command starts in the home directory, as it would with plain ssh.
  'cd || cd /',
  '/bin/sh "$ctl/cmd" </dev/null >>"$ctl/stdout.log" 2>>"$ctl/stderr.log"',
  'code=$?',
  'echo "$code" > "$ctl/exit.tmp" && mv "$ctl/exit.tmp" "$ctl/exit"',
].join('\n');

/**
 * Starts the launch unless its directory exists (creating it is the claim: a second attempt that
 * finds it never starts the command again), then streams its stdout and stderr from the given
 * offsets until the wrapper is gone, and exits with the command's code. Without a recorded code the
 * script exits 137 and the caller asks `probe` what happened.
 */
export function launchAndFollow(launchId: string, command: string, offsets: { stdout: number; stderr: number }): string {
  const dir = remoteDir(launchId);
  const script = [
    'umask 077',
    `d=${shq(dir)}`,
    'if mkdir -p .opssight && mkdir "$d" 2>/dev/null; then',
    '  cd "$d" || exit 137',
    `  printf '%s\\n' ${shq(command)} > cmd`,
    '  : > stdout.log; : > stderr.log',
    `  setsid /bin/sh -c ${shq(WRAPPER)} ${shq(`opssight-launch:${launchId}`)} </dev/null >/dev/null 2>&1 &`,
    // Not a group leader, so setsid execs in place: $! is the wrapper, which writes the same pid itself.
    '  [ -s pid ] || { echo $! > pid.new && mv pid.new pid; }',
    'else',
    '  cd "$d" || exit 137',
    'fi',
    // A fresh wrapper writes its pid at once; one that has none after 10 s never started.
    'n=0',
    'while [ ! -s pid ] && [ ! -f exit ]; do n=$((n+1)); [ "$n" -gt 200 ] && exit 137; sleep 0.05; done',
    'pid=$(cat pid)',
    `tail -c +${offsets.stdout + 1} -s 0.05 --pid="$pid" -f stdout.log &`,
    `tail -c +${offsets.stderr + 1} -s 0.05 --pid="$pid" -f stderr.log >&2 &`,
    'wait',
    'if [ -f exit ]; then exit "$(cat exit)"; fi',
    'exit 137',
  ].join('\n');
  return `/bin/sh -c ${shq(script)}`;
}

/** What a launch's directory says: `exit <code>`, `running`, `lost` (no code, wrapper gone) or `missing`. */
export function probe(launchId: string): string {
  const script = [
    `d=${shq(remoteDir(launchId))}`,
    'if [ -f "$d/exit" ]; then echo "exit $(cat "$d/exit")"',
    'elif [ ! -d "$d" ]; then echo missing',
    'elif [ -s "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null; then echo running',
    'else echo lost; fi',
  ].join('\n');
  return `/bin/sh -c ${shq(script)}`;
}

export type ProbeResult = { kind: 'exited'; code: number } | { kind: 'running' } | { kind: 'lost' } | { kind: 'missing' };
export function parseProbe(out: string): ProbeResult {
  const text = out.trim();
  const m = /^exit (\d+)$/.exec(text);
  if (m) return { kind: 'exited', code: Number(m[1]) };
  if (text === 'running' || text === 'lost' || text === 'missing') return { kind: text };
  throw new Error(`unexpected answer from the host: ${text.slice(0, 200)}`);
}

/** Signals the launch's process group (the wrapper leads it: setsid). */
export function signalGroup(launchId: string, signal: 'TERM' | 'KILL'): string {
  const script = `p=$(cat ${shq(`${remoteDir(launchId)}/pid`)} 2>/dev/null) && [ -n "$p" ] && kill -${signal} "-$p"`;
  return `/bin/sh -c ${shq(script)}`;
}

/** Removes the launch's files once its ending is recorded in PostgreSQL (never before: the directory is the claim). */
export const cleanup = (launchId: string) => `/bin/sh -c ${shq(`rm -rf ${shq(remoteDir(launchId))}; true`)}`;
