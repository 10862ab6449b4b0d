// IMDSv2 client shared by ipamd and the network policy agent.
export { ImdsClient, ImdsError, type ImdsClientOptions } from './client.js';
