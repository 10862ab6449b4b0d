// The CNI backend service and the address-supply interface it grows the pool through.
export { IpamService, type IpamServiceOptions } from './ipam-service.js';
export { type AddressSupply, CapacityError, noSupply } from './supply.js';
export { MemorySupply, type MemorySupplyOptions } from './memory-supply.js';
