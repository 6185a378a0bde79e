/**
 * Image tier (`npm run test:image`): builds the CPU Docker image, runs docker-compose.yml
 * (PostgreSQL + server) and drives it over its published port. Needs root (or a user that may
 * start dockerd) and ../shared/docker/start-docker.sh; see test/image/image.image-spec.ts.
 */
module.exports = {
  rootDir: '../..',
  testMatch: ['<rootDir>/test/image/**/*.image-spec.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
  // A cold image build alone takes minutes on a 2-core machine; each step sets its own limit too.
  testTimeout: 20 * 60 * 1000,
  maxWorkers: 1,
};
