/** The workflows a worker of the previous release registered: the frozen first batch workflow and its helpers. */
export { batchWorkflow } from '../../src/workflows/legacy/batch';
export { admissionWorkflow } from '../../src/workflows/admission';
export { onlineBatchWorkflow } from '../../src/workflows/online';
