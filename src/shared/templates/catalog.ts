import blender from "../../../templates/blender-render.json";
import comfyui from "../../../templates/comfyui.json";
import jax from "../../../templates/jax-train.json";
import jupyter from "../../../templates/jupyter.json";
import llamacpp from "../../../templates/llamacpp-inference.json";
import pytorch from "../../../templates/pytorch-train.json";
import ray from "../../../templates/ray-cluster.json";
import sglang from "../../../templates/sglang-inference.json";
import vllm from "../../../templates/vllm-inference.json";
import { JobTemplate } from "./job-template.js";

/** The templates shipped in templates/, parsed once; a malformed file fails at load, not at use. */
export const TEMPLATES: readonly JobTemplate[] = [
  pytorch,
  ray,
  jax,
  vllm,
  sglang,
  llamacpp,
  blender,
  comfyui,
  jupyter,
].map((raw) => JobTemplate.parse(raw));

export function templateById(id: string): JobTemplate | undefined {
  return TEMPLATES.find((template) => template.id === id);
}
