// The build version of every executable. esbuild replaces __VPC_CNI_VERSION__ at bundle time; tests and
// tsx runs fall back to the workspace version. aws-cni sends it as ClientVersion and ipamd compares it.
declare const __VPC_CNI_VERSION__: string | undefined;

export const VERSION: string = typeof __VPC_CNI_VERSION__ === 'string' ? __VPC_CNI_VERSION__ : '0.1.0-dev';
