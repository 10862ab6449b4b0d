// The VPC fabric: simulator ENIs as real links between node namespaces, a router namespace and an "internet".
export { VpcFabric, OUTSIDE_IP, OUTSIDE_IPV6 } from './fabric.js';
