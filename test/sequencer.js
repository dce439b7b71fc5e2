import Sequencer from '@jest/test-sequencer';

/**
 * The files that take minutes, longest kind first (the fuzzer, the up.sh runs, the kill -9 fault
 * tests), start first when jest has no timings yet. Jest's own order then is by file size, which
 * started the fuzzer (the longest file, a small one) 500 s into a 904-s run on a fresh machine, where
 * it nearly made the run's tail alone. Once jest has timings (its cache), it orders by them.
 */
const LONG = [/\/test\/api\/fuzz\.test\.ts$/, /\/test\/e2e\/up[^/]*\.test\.ts$/, /\/test\/faults\/[^/]+\.test\.ts$/];
const rank = (path) => {
  const i = LONG.findIndex((re) => re.test(path));
  return i === -1 ? LONG.length : i;
};

export default class LongestFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (sorted.some((t) => t.duration != null)) return sorted;
    // Array sort is stable: within a rank, jest's order stands.
    return [...sorted].sort((a, b) => rank(a.path) - rank(b.path));
  }
}
