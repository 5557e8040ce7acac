"""ComfyUI export: the control video in the conventions of ComfyUI's Wan VACE nodes and an API-format
workflow wiring them (`physreel export --format comfyui`; docs/engine.md, "ComfyUI export")."""
