// The aws-vpc-cni entrypoint: binaries, ipamd start, health wait, conflist, supervision.
export { renderConflist, type ConflistInputs } from './conflist.js';
export { runEntrypoint, writeConflist, type EntrypointIo } from './run.js';
export { main } from './main.js';
