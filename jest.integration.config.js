/**
 * Integration tier: specs that need minutes or real services (every zoo model through a GHN and
 * onnxruntime, the S3 store against a real S3-compatible server, two replicas on one PostgreSQL
 * and one bucket). A Swift s3api server is started for the run (test/integration/global-setup.ts).
 */
module.exports = {
  rootDir: '.',
  roots: ['<rootDir>/src', '<rootDir>/test/integration'],
  testRegex: '\\.int-spec\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
  testTimeout: 600000,
  maxWorkers: 1,
  globalSetup: '<rootDir>/test/integration/global-setup.ts',
  globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
};
