export { batchWorkflow } from './batch';
export { onlineBatchWorkflow } from './online';
export { admissionWorkflow } from './admission';
