// Types of aws-sdk-imports.mjs (the esbuild plugin), for its test.
import type { Plugin } from 'esbuild';

export declare const awsSdkDirectImports: Plugin;
