/**
 * End-to-end tests: a real server over HTTP against PGlite, or PostgreSQL when TEST_DATABASE_URL is
 * set; on the filesystem blob store, or an S3-compatible one (Swift's s3api) with TEST_BLOB_STORE=s3.
 */
module.exports = {
  rootDir: '..',
  testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
  testTimeout: 120000,
  maxWorkers: 1,
  setupFiles: ['<rootDir>/test/e2e/quiet-tfjs.ts'],
  globalSetup: '<rootDir>/test/e2e/global-setup.ts',
  globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
};
