// Run with `node --no-lazy`: compiles the wrapped bundle exactly as eager-loader.cjs will and writes its code
// cache, in which every function is already compiled. Usage: make-code-cache.cjs <main.js> <main.cache>
'use strict';
const fs = require('node:fs');
const vm = require('node:vm');

const [source, out] = process.argv.slice(2);
const script = new vm.Script(fs.readFileSync(source, 'utf8'), { filename: 'aws-cni.js' });
fs.writeFileSync(out, script.createCachedData());
