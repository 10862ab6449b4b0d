export * from './resolve/index.js';
