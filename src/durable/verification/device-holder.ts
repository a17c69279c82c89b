/** Which node, in which region, holds an attested device as which of its GPUs. */
export interface DeviceHolder {
  nodeId: string;
  region: string;
  gpuUuid: string;
}

/**
 * The network-wide registry of attested devices (D1 `attested_devices`). One physical GPU signs
 * with one NVIDIA device certificate wherever it is enrolled, so the certificate's serial is the
 * key: the first node to attest it holds it, and a node elsewhere that attests the same device is a
 * twin (the same board enrolled twice, to be paid twice).
 */
export interface DeviceRegistry {
  /**
   * Claims `deviceId` for `holder` at `now`. Returns the other holder when the device is another
   * node's; undefined when it is (now) this node's.
   */
  claim(deviceId: string, holder: DeviceHolder, now: number): Promise<DeviceHolder | undefined>;
}
