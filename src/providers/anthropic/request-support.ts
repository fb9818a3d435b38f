/** The request-mapping helpers every provider shares (src/providers/request-mapping.ts), for this folder's modules. */
export * from '../request-mapping';
