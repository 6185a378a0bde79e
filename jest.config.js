/** Unit tests: specs next to the code under src/. */
module.exports = {
  rootDir: 'src',
  testRegex: '\\.spec\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
  // A hang detector, not a speed check: suites run side by side on two cores, where a test that
  // takes one second alone can take several.
  testTimeout: 30000,
};
