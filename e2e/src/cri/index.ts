// containerd as the real CNI caller: a private containerd in a node netns, a CRI client, the local pause image.
export { PrivateContainerd, type ContainerdOptions, mountsUnder } from './containerd.js';
export { CriClient, type SandboxStatus } from './cri-client.js';
export { PAUSE_IMAGE, buildPauseImage } from './pause-image.js';
