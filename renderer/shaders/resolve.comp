#version 450
// Compute rasterisation, pass 2: per pixel, the winning point's colour (or the
// background) and its id, into plain buffers the host reads back.
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
layout(local_size_x = 16, local_size_y = 16) in;

layout(std430, set = 0, binding = 1) readonly buffer States { uint state[]; };
layout(std430, set = 0, binding = 2) readonly buffer Frame { uint64_t fb[]; };
layout(std430, set = 0, binding = 3) readonly buffer Colors { uint colors[]; };  // RGBA8, r lowest
layout(std430, set = 0, binding = 4) writeonly buffer OutColor { uint out_color[]; };
layout(std430, set = 0, binding = 5) writeonly buffer OutId { uint out_id[]; };

layout(push_constant) uniform Push {
  mat4 mvp;
  vec4 background;
  uint n, width, height, flags;
  float radius;
  float alpha;
  uint groups_x;
  uint first;
} pc;

// flags bit 1: write BGRA (a B8G8R8A8 swapchain) instead of RGBA.
uint pack(vec3 c) { return packUnorm4x8((pc.flags & 2u) != 0u ? vec4(c.bgr, 1.0) : vec4(c, 1.0)); }

const uint SELECTED = 1u, HOVERED = 2u, MATCH = 4u, NEIGHBOR = 8u;

void main() {
  const uvec2 q = gl_GlobalInvocationID.xy;
  if (q.x >= pc.width || q.y >= pc.height) return;
  const uint idx = q.y * pc.width + q.x;
  const uint64_t v = fb[idx];
  if (v == 0xFFFFFFFFFFFFFFFFul) {
    out_color[idx] = pack(pc.background.rgb);
    out_id[idx] = 0u;
    return;
  }
  const uint i = 0xFFFFFFFEu - uint(v & 0xFFFFFFFFul);
  const uint s = (state[i >> 2u] >> ((i & 3u) * 8u)) & 0xFFu;
  vec4 c = unpackUnorm4x8(colors[i]);
  float a = c.a * pc.alpha;
  uint id = i + 1u;
  // Too small for rings: highlighted points take the ring colour whole.
  if ((s & HOVERED) != 0u) { c.rgb = vec3(0.0); a = 1.0; }
  else if ((s & SELECTED) != 0u) { c.rgb = vec3(1.0, 0.25, 0.0); a = 1.0; }
  else if ((s & NEIGHBOR) != 0u) { c.rgb = vec3(0.0, 0.55, 1.0); a = 1.0; }
  else if ((s & MATCH) != 0u) { c.rgb = vec3(1.0, 0.8, 0.0); a = 1.0; }
  else if ((pc.flags & 1u) != 0u && s == 0u) {
    c.rgb = mix(c.rgb, pc.background.rgb, 0.8);
    a *= 0.35;
    id = 0u;
  }
  // Opacity over the background only: one point per pixel survives.
  out_color[idx] = pack(mix(pc.background.rgb, c.rgb, a));
  out_id[idx] = id;
}
