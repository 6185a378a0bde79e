/** End-to-end tests: a real server over HTTP against PGlite, or PostgreSQL when TEST_DATABASE_URL is set. */
module.exports = {
  rootDir: '..',
  testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
  testTimeout: 120000,
  maxWorkers: 1,
};
