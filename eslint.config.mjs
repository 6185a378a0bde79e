// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layer boundaries, checked here rather than remembered. ESLint applies one `no-restricted-imports`
 * setting per file (the last matching block wins), so each area below lists everything it bans.
 */
const prisma = { name: '@prisma/client', message: 'Only *.repository.ts files use Prisma.' };
const outerLayers = { group: ['@nestjs/*', '@prisma/*', 'express', 'pg', '@electric-sql/*', '@aws-sdk/*', '**/infra/**', '**/modules/**', '**/http/**', '**/cli/**'], message: 'src/core is framework-free.' };
const noModules = { group: ['**/modules/**'], message: 'Outer layers (http, infra) do not depend on feature modules: move the shared piece down (core, infra).' };
const noHttpInInfra = { group: ['**/http/**'], message: 'src/infra adapts to the world; HTTP concerns live in src/http.' };
const blobStore = {
  group: ['**/infra/storage/**', '**/core/storage/**'],
  message: 'Only the checkpoints module holds the blob store: read and write weights through CheckpointsService / CheckpointReader.',
};
const express = { name: 'express', message: 'Services take plain values: parse requests (multipart, Range, If-None-Match, Prefer) in controllers or src/http.' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test/generated/**', 'src/core/formats/onnx/proto/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.name='forwardRef']", message: 'forwardRef is banned: fix the module cycle instead.' }],
    },
  },
  {
    // Prisma only in repositories (and the database adapter), everywhere in src.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.repository.ts', 'src/infra/database/**', 'src/core/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [prisma] }] },
  },
  {
    files: ['src/http/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [prisma], patterns: [noModules] }] },
  },
  {
    files: ['src/infra/**/*.ts'],
    ignores: ['src/infra/database/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [prisma], patterns: [noModules, noHttpInInfra] }] },
  },
  {
    files: ['src/infra/database/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noModules, noHttpInInfra] }] },
  },
  {
    // Feature modules other than checkpoints never see the blob store.
    files: ['src/modules/**/*.ts'],
    ignores: ['src/modules/checkpoints/**', 'src/modules/**/*.repository.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [prisma], patterns: [blobStore] }] },
  },
  {
    files: ['src/modules/**/*.repository.ts'],
    ignores: ['src/modules/checkpoints/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [blobStore] }] },
  },
  {
    // Express stays in controllers and HTTP glue (guards, filters, body readers); services get plain values.
    files: ['src/modules/**/*.ts', 'src/core/**/*.ts', 'src/infra/**/*.ts'],
    ignores: ['src/modules/**/*.controller.ts', 'src/modules/**/*.guard.ts', 'src/modules/**/*.filter.ts', 'src/modules/inference/infer-body.ts', 'src/**/*.spec.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [express] }] },
  },
  {
    // The framework-free core: no Nest, Prisma, Express, AWS, environment or outer layers.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [outerLayers] }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'src/core must not read the environment.' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/infra/config/**', 'src/cli/**', 'src/main.ts', 'src/core/**', 'src/**/*.int-spec.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through AppConfig (src/infra/config).' }],
    },
  },
);
