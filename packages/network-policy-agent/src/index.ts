export * from './datapath/contract.js';
