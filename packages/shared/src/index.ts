// @vpc-cni/shared: import from the module subpaths (e.g. '@vpc-cni/shared/config') so bundles stay small.
export { VERSION } from './version/index.js';
