// Native ESM: source files import each other with their .ts extension, swc strips the types.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testSequencer: '<rootDir>/test/sequencer.js',
  globalSetup: '<rootDir>/test/peers/global-setup.ts',
  globalTeardown: '<rootDir>/test/peers/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 3,
};
