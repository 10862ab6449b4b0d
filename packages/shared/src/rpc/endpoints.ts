// Where ipamd listens (upstream >= v1.23: the unix socket; older plugins dialled TCP on loopback).
export const DEFAULT_IPAMD_SOCKET = '/var/run/aws-node/ipamd.sock';
export const DEFAULT_IPAMD_TCP_ADDRESS = '127.0.0.1:50051';
