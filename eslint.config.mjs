// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    // The framework-free core: no Nest, Prisma, Express, environment or outer layers.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@nestjs/*', '@prisma/*', 'express', 'pg', '@electric-sql/*', '**/infra/**', '**/modules/**', '**/http/**', '**/cli/**'], message: 'src/core is framework-free.' },
          ],
        },
      ],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'src/core must not read the environment.' }],
    },
  },
  {
    // Only repositories (and the database adapter) talk to Prisma.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.repository.ts', 'src/infra/database/**', 'src/core/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: '@prisma/client', message: 'Only *.repository.ts files use Prisma.' }] }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/infra/config/**', 'src/cli/**', 'src/main.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through AppConfig (src/infra/config).' }],
    },
  },
);
