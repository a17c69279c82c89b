"""Fetch one GPU's attestation evidence for a nonce, through NVML (nvidia-ml-py's pynvml).

Usage: gpu-attest.py <gpu-uuid> <nonce-hex>

Prints one JSON line: {"type": "evidence", "evidence": <base64 report>, "certificate": <base64 PEM
chain>} (the format of NVIDIA nvtrust's evidence), or {"type": "unavailable", "reason": ...} when
this host cannot attest: no pynvml, no NVIDIA driver, confidential computing off, or a GPU without
attestation (everything before Hopper). The same NVML calls NVIDIA's local verifier makes
(nvmlDeviceGetConfComputeGpuAttestationReport, nvmlDeviceGetConfComputeGpuCertificate).
"""

import base64
import json
import sys


def unavailable(reason):
    print(json.dumps({"type": "unavailable", "reason": reason}), flush=True)
    sys.exit(0)


def main():
    if len(sys.argv) != 3:
        unavailable("usage: gpu-attest.py <gpu-uuid> <nonce-hex>")
    uuid, nonce_hex = sys.argv[1], sys.argv[2]
    try:
        nonce = bytes.fromhex(nonce_hex)
    except ValueError:
        unavailable("the nonce is not hex")
    if len(nonce) != 32:
        unavailable("the nonce is not 32 bytes")
    try:
        import pynvml
    except ImportError:
        unavailable("pynvml (nvidia-ml-py) is not installed")
    try:
        pynvml.nvmlInit()
    except Exception as error:  # noqa: BLE001 - any NVML failure means no attestation here
        unavailable(f"NVML did not start: {error}")
    try:
        try:
            state = pynvml.nvmlSystemGetConfComputeState()
            if state.ccFeature == 0:
                unavailable("confidential computing is off on this host")
        except Exception as error:  # noqa: BLE001
            unavailable(f"this driver reports no confidential-computing state: {error}")
        handle = pynvml.nvmlDeviceGetHandleByUUID(uuid)
        report = pynvml.nvmlDeviceGetConfComputeGpuAttestationReport(handle, nonce)
        report_bytes = bytes(report.attestationReport[i] for i in range(report.attestationReportSize))
        cert = pynvml.nvmlDeviceGetConfComputeGpuCertificate(handle)
        chain = bytes(cert.attestationCertChain[i] for i in range(cert.attestationCertChainSize))
    except SystemExit:
        raise
    except Exception as error:  # noqa: BLE001
        unavailable(f"the GPU gave no attestation: {error}")
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass
    print(
        json.dumps(
            {
                "type": "evidence",
                "evidence": base64.b64encode(report_bytes).decode(),
                "certificate": base64.b64encode(chain).decode(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
