export { batchWorkflow } from './legacy/batch';
export { onlineBatchWorkflow } from './online';
export { admissionWorkflow } from './admission';
export { batchJob } from './batch-job';
export { recoverJob } from './recover-job';
