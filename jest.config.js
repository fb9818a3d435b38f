/**
 * Two projects: `unit` (test/unit, test/sandbox, test/security) starts no server beyond what a test makes in-process;
 * `integration` (test/integration, test/storage, and test/security's `*.e2e.test.ts`) shares one Temporal dev server
 * and one versitygw, started once by its global setup. `npx jest --selectProjects unit` runs the fast half alone.
 * @type {import('jest').Config}
 */
const common = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
};

module.exports = {
  maxWorkers: 1,
  // A global option: jest ignores it inside a project.
  testTimeout: 120000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    {
      ...common,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit', '<rootDir>/test/sandbox', '<rootDir>/test/security'],
      testPathIgnorePatterns: ['/node_modules/', '\\.e2e\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      roots: ['<rootDir>/test/integration', '<rootDir>/test/storage', '<rootDir>/test/security'],
      testPathIgnorePatterns: ['/node_modules/', '/test/security/(?!.*\\.e2e\\.test\\.ts$)'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
