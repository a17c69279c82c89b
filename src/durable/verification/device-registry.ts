import type { DeviceRegistry } from "./device-holder.js";

export type { DeviceHolder, DeviceRegistry } from "./device-holder.js";

/**
 * The registry in D1. A claim is one transaction (a D1 batch): the device row is taken by the
 * claimer when it is new, already the claimer's node's, or its holder no longer reports the GPU
 * (the node is gone from the registry or registered without that uuid); then the row is read back.
 * Two regions racing for one device thus see one winner. A holder's own node record is written to
 * D1 at registration, before its first challenge, so a live holder is never taken over.
 */
export function d1DeviceRegistry(database: D1Database): DeviceRegistry {
  return {
    async claim(deviceId, holder, now) {
      const [, read] = await database.batch<{ node_id: string; region: string; gpu_uuid: string }>([
        database.prepare(CLAIM).bind(deviceId, holder.nodeId, holder.region, holder.gpuUuid, now, now),
        database
          .prepare("SELECT node_id, region, gpu_uuid FROM attested_devices WHERE device_id = ?")
          .bind(deviceId),
      ]);
      const row = read?.results[0];
      if (!row || row.node_id === holder.nodeId) return undefined;
      return { nodeId: row.node_id, region: row.region, gpuUuid: row.gpu_uuid };
    },
  };
}

const CLAIM = `
  INSERT INTO attested_devices
    (device_id, node_id, region, gpu_uuid, first_attested_at, last_attested_at)
  VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (device_id) DO UPDATE SET
    first_attested_at = CASE WHEN attested_devices.node_id = excluded.node_id
      AND attested_devices.gpu_uuid = excluded.gpu_uuid
      THEN attested_devices.first_attested_at ELSE excluded.first_attested_at END,
    node_id = excluded.node_id,
    region = excluded.region,
    gpu_uuid = excluded.gpu_uuid,
    last_attested_at = excluded.last_attested_at
  WHERE attested_devices.node_id = excluded.node_id
    OR NOT EXISTS (
      SELECT 1 FROM nodes AS n, json_each(n.hardware, '$.gpus') AS g
      WHERE n.id = attested_devices.node_id
        AND json_extract(g.value, '$.uuid') = attested_devices.gpu_uuid
    )`;
